/** The Raft service's data directory: restart from disk, torn tails, truncation, compaction. */
import { closeSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftDisk, RaftDiskError } from '../../src/protocols/raft/disk.js';
import type { Entry } from '../../src/protocols/raft/types.js';
import { removeTempDir, tempDir } from '../services/process.js';

const e = (index: number, term: number): Entry => ({ kind: 'normal', index, term, data: null });
const dirs: string[] = [];
const small = { preallocateBytes: 4096 };
const fresh = () => {
  const d = tempDir('raft-disk');
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) removeTempDir(d);
});

describe('RaftDisk', () => {
  it('reads back hard state and entries, with later entries replacing a conflicting suffix', async () => {
    const dir = fresh();
    const { disk } = await RaftDisk.open(dir, small);
    await disk.save({
      hardState: { term: 1, vote: 'a', commit: 0 },
      entries: [e(1, 1), e(2, 1), e(3, 1)],
    });
    await disk.save({ hardState: { term: 2, vote: 'b', commit: 1 }, entries: [e(2, 2)] });
    await disk.close();
    const { storage, disk: again } = await RaftDisk.open(dir, small);
    expect(storage.hardState).toEqual({ term: 2, vote: 'b', commit: 1 });
    expect(storage.entries).toEqual([e(1, 1), e(2, 2)]);
    expect(again.tornBytes).toBe(0);
    await again.close();
  });

  it('drops a torn tail (a write cut short by a crash) and keeps appending after it', async () => {
    const dir = fresh();
    const { disk } = await RaftDisk.open(dir, small);
    await disk.save({ entries: [e(1, 1)] });
    await disk.close();
    const wal = join(
      dir,
      readdirSync(dir).find((n) => n.startsWith('wal-'))!,
    );
    const bytes = readFileSync(wal);
    let end = 0;
    while (bytes.readUInt32BE(end) !== 0) end += 8 + bytes.readUInt32BE(end);
    // A record cut short: its header promises 256 bytes, 5 made it.
    const fd = openSync(wal, 'r+');
    writeSync(fd, Buffer.from([0, 0, 1, 0, 1, 2, 3, 4, 5]), 0, 9, end);
    closeSync(fd);
    const { storage, disk: again } = await RaftDisk.open(dir, small);
    expect(storage.entries).toEqual([e(1, 1)]);
    expect(again.tornBytes).toBe(9);
    await again.save({ entries: [e(2, 1)] });
    await again.close();
    const third = await RaftDisk.open(dir, small);
    expect(third.storage.entries).toEqual([e(1, 1), e(2, 1)]);
    await third.disk.close();
  });

  it('compacts into a snapshot and a new segment, and restarts from them', async () => {
    const dir = fresh();
    const { disk } = await RaftDisk.open(dir, small);
    await disk.save({
      hardState: { term: 1, vote: 'a', commit: 3 },
      entries: [e(1, 1), e(2, 1), e(3, 1)],
    });
    const snapshot = {
      index: 2,
      term: 1,
      conf: { voters: ['a'], learners: [] },
      data: { data: [['k', 'v']], sessions: [] },
    };
    await disk.compact(snapshot, [e(3, 1)]);
    await disk.close();
    expect(readdirSync(dir).filter((n) => n.startsWith('wal-'))).toHaveLength(1);
    const { storage, disk: again } = await RaftDisk.open(dir, small);
    expect(storage.snapshot).toEqual(snapshot);
    expect(storage.entries).toEqual([e(3, 1)]);
    expect(storage.hardState).toEqual({ term: 1, vote: 'a', commit: 3 });
    await again.close();
  });

  it('refuses a corrupt snapshot with a RaftDiskError naming the file', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'snapshot.json'), '{"index": -1}');
    await expect(RaftDisk.open(dir, small)).rejects.toThrow(RaftDiskError);
    await expect(RaftDisk.open(dir, small)).rejects.toThrow(/snapshot\.json/);
  });
});

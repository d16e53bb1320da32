/**
 * The Raft service's durable state in a directory: a write-ahead log of hard-state and entry
 * records (one append and one `fdatasync` per {@link Ready} batch), and a snapshot file written
 * atomically when the log is compacted. A member restarts from what this holds.
 *
 * Layout: `snapshot.json` (optional), `wal-<n>.log` (the highest `n` is current). A record is
 * `u32 length | u32 crc32 | JSON payload`, the payload `{"hs": HardState}` or `{"ents": Entry[]}`
 * (entries replace any stored from the first one's index on, as Raft's log does). A record cut
 * short or failing its checksum at the end of the log is the tail of a write the crash
 * interrupted: never synced, never acknowledged; loading zeroes it. Segments are preallocated
 * with zeros (a zero length ends the log), as etcd's WAL is, so that syncing an append does not
 * also have to commit a new file size.
 *
 * @module
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { FaultlineError, errorGuard } from '../../core/errors.js';
import { integerIn } from '../../core/validate.js';
import { parseEntries, parseSnapshot } from './wire.js';
import type { Entry, HardState, RaftStorage, Snapshot } from './types.js';

/** The data directory holds something this code cannot read (not a torn tail). */
export class RaftDiskError extends FaultlineError {
  override readonly name = 'RaftDiskError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('FAULTLINE_RAFT_DISK', message, options);
  }
}

/** True when `e` is a {@link RaftDiskError}. */
export const isRaftDiskError = errorGuard(RaftDiskError);

const SNAPSHOT = 'snapshot.json';
const segmentName = (n: number) => `wal-${String(n).padStart(8, '0')}.log`;
const SEGMENT = /^wal-(\d{8})\.log$/;
const MAX_RECORD_BYTES = 256 * 1024 * 1024;
/** Zeros written ahead of the log at a time (default of `preallocateBytes`). */
const PREALLOCATE_BYTES = 16 * 1024 * 1024;

function record(payload: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(body.length, 0);
  head.writeUInt32BE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

/** What a segment held: the records that read back whole, and where the valid prefix ends. */
interface Replay {
  hardState: HardState | undefined;
  entries: Entry[];
  validBytes: number;
  tornBytes: number;
}

function parseHard(v: unknown, file: string): HardState {
  const o = v as Partial<HardState>;
  if (
    !Number.isSafeInteger(o.term) ||
    !Number.isSafeInteger(o.commit) ||
    (o.vote !== null && typeof o.vote !== 'string')
  )
    throw new RaftDiskError(`${file}: malformed hard state ${JSON.stringify(v)}`);
  return { term: o.term!, vote: o.vote ?? null, commit: o.commit! };
}

function replay(bytes: Buffer, file: string, snapIndex: number): Replay {
  let hardState: HardState | undefined;
  let entries: Entry[] = [];
  let at = 0;
  while (at + 8 <= bytes.length) {
    const length = bytes.readUInt32BE(at);
    // Length 0: the preallocated, zeroed rest of the segment.
    if (length === 0 || length > MAX_RECORD_BYTES || at + 8 + length > bytes.length) break;
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (crc32(body) !== bytes.readUInt32BE(at + 4)) break;
    const doc = JSON.parse(body.toString('utf8')) as { hs?: unknown; ents?: unknown };
    if (doc.hs !== undefined) hardState = parseHard(doc.hs, file);
    if (doc.ents !== undefined) entries = splice(entries, parseEntries(doc.ents), snapIndex, file);
    at += 8 + length;
  }
  let end = bytes.length;
  while (end > at && bytes[end - 1] === 0) end--;
  return { hardState, entries, validBytes: at, tornBytes: end - at };
}

function splice(held: Entry[], more: Entry[], snapIndex: number, file: string): Entry[] {
  const fresh = more.filter((e) => e.index > snapIndex);
  const first = fresh[0];
  if (first === undefined) return held;
  const base = held[0]?.index ?? snapIndex + 1;
  const keep = first.index - base;
  if (keep < 0 && held.length > 0)
    throw new RaftDiskError(`${file}: entry ${first.index} precedes the log's first ${base}`);
  if (keep > held.length)
    throw new RaftDiskError(
      `${file}: gap before entry ${first.index} (log ends at ${base + held.length - 1})`,
    );
  return [...held.slice(0, Math.max(keep, 0)), ...fresh];
}

/**
 * The durable state of one member.
 *
 * @example
 * const { disk, storage } = await RaftDisk.open('/var/lib/raft');
 * const node = new RaftNode({ id, voters, random, storage });
 * await disk.save(rd); // before sending rd.messages
 */
export class RaftDisk {
  /** Bytes of a torn tail dropped when the log was opened (a crash mid-write). */
  readonly tornBytes: number;
  /** Zeros written ahead at a time. */
  private preallocate = PREALLOCATE_BYTES;
  /** Where the next record goes in the current segment. */
  private position = 0;
  /** The segment's size: written zeros past `position`. */
  private allocated = 0;
  private hard: HardState = { term: 0, vote: null, commit: 0 };
  /** The last hard state known synced. */
  private synced: HardState = this.hard;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private segment: number,
    private fh: FileHandle,
    tornBytes: number,
  ) {
    this.tornBytes = tornBytes;
  }

  /**
   * Opens (creating) `dir` and reads back what a previous run made durable. `preallocateBytes`
   * (default 16 MiB): zeros written ahead of the log at a time; more means fewer pauses to
   * extend it, at more disk held in advance.
   */
  static async open(
    dir: string,
    options: { readonly preallocateBytes?: number } = {},
  ): Promise<{ disk: RaftDisk; storage: RaftStorage }> {
    const preallocate = integerIn(
      'preallocateBytes',
      options.preallocateBytes ?? PREALLOCATE_BYTES,
      0,
      1024 * 1024 * 1024,
    );
    mkdirSync(dir, { recursive: true });
    const names = readdirSync(dir);
    const snapshot = names.includes(SNAPSHOT) ? readSnapshot(join(dir, SNAPSHOT)) : undefined;
    const segments = names
      .map((n) => SEGMENT.exec(n)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const current = segments.at(-1) ?? 1;
    const path = join(dir, segmentName(current));
    let state: Replay = { hardState: undefined, entries: [], validBytes: 0, tornBytes: 0 };
    if (segments.length > 0) {
      try {
        state = replay(readFileSync(path), path, snapshot?.index ?? 0);
      } catch (error) {
        if (error instanceof RaftDiskError) throw error;
        throw new RaftDiskError(`${path}: unreadable record`, { cause: error });
      }
    }
    const fh = await open(path, segments.length > 0 ? 'r+' : 'w+');
    if (state.tornBytes > 0) {
      // Zero the torn tail, so that no fragment of it can ever read back as a record.
      await fh.write(Buffer.alloc(state.tornBytes), 0, state.tornBytes, state.validBytes);
      await fh.datasync();
    }
    for (const n of names) if (n.endsWith('.tmp')) await rm(join(dir, n), { force: true });
    const disk = new RaftDisk(dir, current, fh, state.tornBytes);
    disk.position = state.validBytes;
    disk.preallocate = preallocate;
    disk.allocated = (await fh.stat()).size;
    if (state.hardState !== undefined) disk.hard = disk.synced = state.hardState;
    if (segments.length === 0) syncDir(dir);
    const storage: RaftStorage = {
      ...(state.hardState === undefined ? {} : { hardState: state.hardState }),
      ...(snapshot === undefined ? {} : { snapshot }),
      entries: state.entries,
    };
    return { disk, storage };
  }

  /**
   * Makes a Ready's hard state, snapshot and entries durable: one append and one `fdatasync` (a
   * snapshot from the leader also rewrites the snapshot file and starts a new segment; a change
   * of the commit index alone is written but not synced). Resolves once they are on disk; only
   * then may the Ready's messages go out. Returns whether it synced.
   */
  async save(rd: {
    readonly hardState?: HardState;
    readonly entries: readonly Entry[];
    readonly snapshot?: Snapshot;
  }): Promise<boolean> {
    if (this.closed) throw new RaftDiskError(`${this.dir}: closed`);
    if (rd.snapshot !== undefined) await this.compact(rd.snapshot, []);
    const parts: Buffer[] = [];
    if (rd.entries.length > 0) parts.push(record({ ents: rd.entries }));
    if (rd.hardState !== undefined) {
      parts.push(record({ hs: rd.hardState }));
      this.hard = rd.hardState;
    }
    if (parts.length === 0) return rd.snapshot !== undefined;
    await this.append(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    // A higher commit index alone needs no sync: a restart that reads an older one only
    // re-learns it from the leader. The next synced batch makes it durable with everything else.
    const hs = rd.hardState;
    const termOrVote =
      hs !== undefined && (hs.term !== this.synced.term || hs.vote !== this.synced.vote);
    if (rd.entries.length === 0 && !termOrVote) return false;
    await this.fh.datasync();
    this.synced = this.hard;
    return true;
  }

  /**
   * Writes `snapshot` atomically, then starts a new segment holding the hard state and `entries`
   * (those after the snapshot), and deletes the old segment. A crash at any point leaves either
   * the old state or the new one readable.
   */
  async compact(snapshot: Snapshot, entries: readonly Entry[]): Promise<void> {
    const snapPath = join(this.dir, SNAPSHOT);
    await writeAtomically(snapPath, Buffer.from(JSON.stringify(snapshot), 'utf8'));
    const next = this.segment + 1;
    const body = [record({ hs: this.hard })];
    if (entries.length > 0) body.push(record({ ents: entries }));
    const path = join(this.dir, segmentName(next));
    await writeAtomically(path, Buffer.concat(body));
    const old = this.fh;
    this.fh = await open(path, 'r+');
    this.position = (await this.fh.stat()).size;
    this.allocated = this.position;
    await old.close();
    await rm(join(this.dir, segmentName(this.segment)), { force: true });
    this.segment = next;
  }

  /**
   * Writes `bytes` at the end of the log. The segment is preallocated with zeros in chunks (as
   * etcd's WAL is), so that an `fdatasync` after an append need not also commit a new file size.
   */
  private async append(bytes: Buffer): Promise<void> {
    if (this.position + bytes.length > this.allocated) {
      const size = Math.max(this.allocated + this.preallocate, this.position + bytes.length);
      const zeros = Buffer.alloc(size - this.allocated);
      await this.fh.write(zeros, 0, zeros.length, this.allocated);
      await this.fh.sync();
      this.allocated = size;
    }
    await this.fh.write(bytes, 0, bytes.length, this.position);
    this.position += bytes.length;
  }

  /** Closes the log file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

function readSnapshot(path: string): Snapshot {
  try {
    return parseSnapshot(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    throw new RaftDiskError(`${path}: not a valid snapshot`, { cause: error });
  }
}

async function writeAtomically(path: string, bytes: Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, bytes);
  const fh = await open(tmp, 'r+');
  await fh.sync();
  await fh.close();
  await rename(tmp, path);
  syncDir(join(path, '..'));
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

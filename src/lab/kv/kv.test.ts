import { describe, expect, it } from 'vitest';
import type { OpEvent } from '../../sim/history.js';
import { KvClient, KvServer, runKvWorkload } from './kv.js';
import { LossyKvServer } from './lossy-kv.js';
import { Simulation } from '../../sim/simulation.js';

/** Checks the history's shape: per process, invoke and completion alternate, times never decrease. */
function checkWellFormed(history: readonly OpEvent[]): void {
  const open = new Map<string, OpEvent>();
  let last = 0;
  for (const e of history) {
    expect(e.timeMs).toBeGreaterThanOrEqual(last);
    last = e.timeMs;
    const pending = open.get(e.process);
    if (e.type === 'invoke') {
      expect(pending).toBeUndefined();
      open.set(e.process, e);
    } else {
      expect(pending?.f).toBe(e.f);
      open.delete(e.process);
    }
  }
}

/**
 * A cheap necessary condition of linearizability for one register: an ok read returns null or a
 * value whose write was invoked before the read completed.
 */
function readsSeeInvokedWrites(history: readonly OpEvent[]): boolean {
  const invoked = new Set<unknown>();
  for (const e of history) {
    if (e.type === 'invoke' && e.f === 'write') invoked.add(e.value);
    if (e.type === 'ok' && e.f === 'read' && e.value !== null && !invoked.has(e.value))
      return false;
  }
  return true;
}

describe('kv example', () => {
  it('completes operations without faults and reads see written values', async () => {
    const result = await runKvWorkload({ seed: 1, durationMs: 500 });
    const oks = result.history.filter((e) => e.type === 'ok');
    expect(oks.length).toBeGreaterThan(30);
    expect(result.history.some((e) => e.type === 'info' || e.type === 'fail')).toBe(false);
    checkWellFormed(result.history);
    expect(readsSeeInvokedWrites(result.history)).toBe(true);
    const writes = result.history.filter((e) => e.type === 'ok' && e.f === 'write');
    const reads = result.history.filter(
      (e) => e.type === 'ok' && e.f === 'read' && e.value !== null,
    );
    expect(writes.length).toBeGreaterThan(0);
    expect(reads.length).toBeGreaterThan(0);
  });

  it('runs identically per seed, with faults', async () => {
    for (const seed of [3, 4, 5, 6]) {
      const a = await runKvWorkload({ seed, durationMs: 400, faults: 'random' });
      const b = await runKvWorkload({ seed, durationMs: 400, faults: 'random' });
      expect(b.traceHash).toBe(a.traceHash);
      expect(JSON.stringify(b.history)).toBe(JSON.stringify(a.history));
      expect(b.events).toBe(a.events);
      checkWellFormed(a.history);
      expect(readsSeeInvokedWrites(a.history)).toBe(true);
    }
  });

  it('different seeds give different runs', async () => {
    const hashes = new Set<string>();
    for (const seed of [10, 11, 12, 13])
      hashes.add((await runKvWorkload({ seed, durationMs: 200 })).traceHash);
    expect(hashes.size).toBe(4);
  });

  it('timeouts under a crash record info or fail, never a lost ok', async () => {
    let sawIndeterminate = false;
    for (let seed = 20; seed < 40 && !sawIndeterminate; seed++) {
      const r = await runKvWorkload({ seed, durationMs: 400, faults: 'random' });
      sawIndeterminate = r.history.some((e) => e.type === 'info' || e.type === 'fail');
      checkWellFormed(r.history);
    }
    expect(sawIndeterminate).toBe(true);
  });

  it('records a timed-out read as info (indeterminate), never as fail', async () => {
    // The server is unreachable for the first 300 ms: every request then times out.
    const r = await runKvWorkload({
      seed: 2,
      durationMs: 300,
      faults: [{ atMs: 0, fault: { kind: 'isolate', node: 'server', durationMs: 400 } }],
    });
    checkWellFormed(r.history);
    const completions = r.history.filter((e) => e.type !== 'invoke');
    expect(completions.some((e) => e.type === 'info' && e.f === 'read')).toBe(true);
    expect(completions.some((e) => e.type === 'info' && e.f === 'write')).toBe(true);
    expect(completions.filter((e) => e.type === 'fail')).toEqual([]);
    expect(completions.filter((e) => e.type === 'ok')).toEqual([]);
    expect(r.faults).toHaveLength(1);
    expect(r.enabledFaults).toEqual([]);
  });

  it('runs the lossy server variant on request, and validates the choice', async () => {
    const r = await runKvWorkload({ seed: 1, durationMs: 200, server: 'lossy' });
    expect(r.server).toBe('lossy');
    expect(r.history.some((e) => e.type === 'ok' && e.f === 'write')).toBe(true);
    await expect(runKvWorkload({ seed: 1, server: 'bogus' as unknown as 'lossy' })).rejects.toThrow(
      /server/,
    );
  });

  it('lossy server: an acknowledged write is gone after a crash before the group commit', async () => {
    const sim = new Simulation({ seed: 1 });
    const server = sim.node('server');
    server.start((node) => void new LossyKvServer(node, { flushIntervalMs: 1000 }));
    const client = sim.node('client');
    const seen: (number | null)[] = [];
    client.start(async (node) => {
      const kv = new KvClient(node.transport, node.runtime, { server: 'server' });
      await kv.write('x', 7);
      seen.push(await kv.read('x'));
      server.crash();
      server.restart();
      await node.runtime.timers.sleep(10);
      seen.push(await kv.read('x'));
    });
    await sim.run({ untilMs: 500 });
    expect(seen).toEqual([7, null]);
    expect(() => new LossyKvServer(server, { flushIntervalMs: 0 })).toThrow(/flushIntervalMs/);
  });

  it('cas: swaps when the register holds from, records a false cas as fail', async () => {
    const r = await runKvWorkload({ seed: 4, durationMs: 500, cas: true });
    checkWellFormed(r.history);
    const cas = r.history.filter((e) => e.f === 'cas' && e.type !== 'invoke');
    expect(cas.some((e) => e.type === 'ok')).toBe(true);
    expect(cas.some((e) => e.type === 'fail')).toBe(true);
    expect(r.history.some((e) => e.type === 'info')).toBe(false);
    // One client against the server: each cas sees the value the previous request left.
    const sim = new Simulation({ seed: 1 });
    const server = sim.node('server');
    server.start((node) => void new KvServer(node));
    const results: unknown[] = [];
    sim.node('client').start(async (node) => {
      const kv = new KvClient(node.transport, node.runtime, { server: 'server' });
      results.push(await kv.cas('x', null, 1), await kv.cas('x', null, 2), await kv.read('x'));
      results.push(await kv.cas('x', 1, 3), await kv.read('x'));
    });
    await sim.run({ untilMs: 500 });
    expect(results).toEqual([true, false, 1, true, 3]);
  });
});

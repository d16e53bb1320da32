/**
 * Three `faultline raft serve` processes on loopback. Clients over real HTTP record a history
 * while the leader is SIGKILLed and restarted from its data dir, then the (new) leader and a
 * follower are SIGSTOPped and resumed. The history must be linearizable (the project's checker
 * with the store's model), and every acknowledged append to the `log` key must be in its final
 * value on every member. A hostile frame on a member's Raft port is counted and closes only its
 * connection.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/check/checker.js';
import type { HistoryEvent } from '../../src/check/history.js';
import { explainResult } from '../../src/check/report.js';
import { raftKvModel } from '../../src/protocols/raft/kv.js';
import { raftCluster } from './cluster.js';
import type { RaftCluster, RaftMember } from './cluster.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const KEYS = ['x', 'y', 'log'];
const CLIENTS = 4;
const OP_TIMEOUT_MS = 1000;

interface Reply {
  status: number;
  body: { value?: string; swapped?: boolean; error?: string };
}

async function call(m: RaftMember, key: string, init?: RequestInit): Promise<Reply> {
  const res = await fetch(`${m.url}/kv/${encodeURIComponent(key)}`, {
    ...init,
    signal: AbortSignal.timeout(OP_TIMEOUT_MS),
  });
  return { status: res.status, body: (await res.json()) as Reply['body'] };
}

class Recorder {
  readonly events: HistoryEvent[] = [];
  readonly acknowledgedLog: string[] = [];
  running = true;

  record(process: string, type: HistoryEvent['type'], f: string, key: string, value: unknown) {
    const event = { process, type, f, key, value, time: performance.now() };
    this.events.push(event);
    return event;
  }

  /**
   * Drops an operation that certainly did not take effect. (The model reads a `fail` cas as one
   * that executed and found another value, so a cas that never ran cannot be a `fail`.)
   */
  forget(invoke: HistoryEvent): void {
    this.events.splice(this.events.indexOf(invoke), 1);
  }
}

function drawOp(p: string, n: number, known: Map<string, string>) {
  const key = KEYS[Math.floor(Math.random() * KEYS.length)]!;
  const value = `${p}.${n}`;
  // `log` only ever gets appends (and reads), so every acknowledged one must survive in it.
  const r = key === 'log' ? Math.floor(Math.random() * 2) * 2 : Math.floor(Math.random() * 4);
  if (r === 0) return { f: 'get', key, invoke: null } as const;
  if (r === 1) return { f: 'put', key, invoke: value, body: { value } } as const;
  if (r === 2)
    return {
      f: 'append',
      key,
      invoke: `${value};`,
      body: { op: 'append', value: `${value};` },
    } as const;
  const from = known.get(key) ?? '';
  return { f: 'cas', key, invoke: [from, value], body: { op: 'cas', from, to: value } } as const;
}

async function client(p: string, members: RaftMember[], rec: Recorder): Promise<void> {
  const known = new Map<string, string>();
  for (let n = 1; rec.running; n++) {
    const op = drawOp(p, n, known);
    const target = members[Math.floor(Math.random() * members.length)]!;
    const invoked = rec.record(p, 'invoke', op.f, op.key, op.invoke);
    let reply: Reply | undefined;
    try {
      reply =
        op.f === 'get'
          ? await call(target, op.key)
          : await call(target, op.key, {
              method: op.f === 'put' ? 'PUT' : 'POST',
              // A session: should the HTTP client resend the request, it applies once.
              body: JSON.stringify({ ...op.body, client: p, seq: n }),
            });
    } catch (error) {
      // Refused: the request never reached a server (a 307 before it applied nothing either).
      const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
      reply = refused ? { status: 503, body: { error: 'refused' } } : undefined;
      // Otherwise reset or timed out: a write may or may not have applied.
    }
    if (reply?.status === 200) {
      const v = reply.body.value ?? '';
      known.set(op.key, v);
      if (op.f === 'get') rec.record(p, 'ok', 'get', op.key, v);
      else if (op.f === 'cas')
        rec.record(p, reply.body.swapped === true ? 'ok' : 'fail', 'cas', op.key, op.invoke);
      else rec.record(p, 'ok', op.f, op.key, op.invoke);
      if (op.f === 'append' && op.key === 'log') rec.acknowledgedLog.push(op.invoke);
    } else if (
      op.f === 'get' ||
      reply?.status === 503 ||
      (reply !== undefined && reply.status < 500)
    ) {
      // Reads change nothing; 503 and 4xx answers are writes that certainly did not apply.
      if (op.f === 'cas') rec.forget(invoked);
      else rec.record(p, 'fail', op.f, op.key, op.invoke);
    } else {
      rec.record(p, 'info', op.f, op.key, op.invoke);
      await sleep(20);
    }
  }
}

/**
 * `log` only ever gets appends of unique values, and its final value was read after every client
 * stopped: an indeterminate append to it whose value is not there never took effect, so it is a
 * `fail`. (This shrinks the checker's search; it changes no verdict.)
 */
function resolveLogInfos(events: readonly HistoryEvent[], final: string): HistoryEvent[] {
  const present = new Set(final.split(';'));
  return events.map((e) =>
    e.type === 'info' &&
    e.key === 'log' &&
    e.f === 'append' &&
    !present.has(String(e.value).slice(0, -1))
      ? { ...e, type: 'fail' }
      : e,
  );
}

/** Waits (at most 15 s) until a write invoked after event `from` is acknowledged. */
async function progressSince(rec: Recorder, from: number): Promise<number> {
  const start = performance.now();
  const acked = () => rec.events.slice(from).filter((e) => e.type === 'ok' && e.f !== 'get').length;
  while (acked() === 0 && performance.now() - start < 15_000) await sleep(50);
  return acked();
}

async function sendGarbage(port: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      // A frame of a version this member does not speak.
      s.write(Buffer.from([0, 0, 0, 6, 9, 0x7b, 0x7d, 0x20, 0x20, 0x20]));
    });
    s.on('close', () => resolve());
    s.on('error', () => resolve());
    setTimeout(() => s.destroy(), 2000);
  });
}

describe('faultline raft serve: a 3-process cluster', () => {
  let cluster: RaftCluster | undefined;
  afterAll(async () => {
    await cluster?.cleanup();
  });

  it('stays linearizable and loses no acknowledged write through SIGKILL and SIGSTOP', async () => {
    // Frequent snapshots: restarts read a snapshot back, and a member left behind gets one.
    cluster = await raftCluster(3, undefined, ['--compact-every', '40']);
    const { members } = cluster;
    const first = await cluster.waitForLeader();

    await sendGarbage(first.raftPort);
    const afterGarbage = await first.status();
    expect(afterGarbage?.malformedFrames).toBe(1);

    const rec = new Recorder();
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(`c${i + 1}`, members, rec));
    await sleep(2000);

    // 1. SIGKILL the leader; the others elect one and carry on; restart it from its data dir.
    const before = (await first.status())!;
    await first.kill();
    let mark = rec.events.length;
    await sleep(3000);
    expect(await progressSince(rec, mark)).toBeGreaterThan(0);
    first.start();
    await cluster.waitForLeader();
    // Its own disk may hold less than its commit index: the leader sends its appends while its
    // own write is in flight, so two followers can commit an entry its disk does not have yet
    // (thesis §10.2.1). It must catch up from the new leader to everything committed before.
    let restarted = (await first.status())!;
    for (let i = 0; i < 100 && restarted.lastIndex < before.commit; i++) {
      await sleep(100);
      restarted = (await first.status()) ?? restarted;
    }
    expect(restarted.lastIndex).toBeGreaterThanOrEqual(before.commit);
    expect(restarted.term).toBeGreaterThanOrEqual(before.term);

    // 2. SIGSTOP the leader (a long pause): the others take over; it steps down on SIGCONT.
    const paused = await cluster.waitForLeader();
    paused.pause();
    mark = rec.events.length;
    await sleep(3000);
    expect(await progressSince(rec, mark)).toBeGreaterThan(0);
    paused.resume();
    await sleep(1000);

    // 3. SIGSTOP a follower: the leader keeps committing with the other one.
    const leader = await cluster.waitForLeader();
    const follower = members.find((m) => m !== leader)!;
    follower.pause();
    mark = rec.events.length;
    await sleep(2000);
    expect(await progressSince(rec, mark)).toBeGreaterThan(0);
    follower.resume();
    await sleep(1500);
    rec.running = false;
    await Promise.all(clients);

    // Every member answers the final reads (each by ReadIndex) with the same value.
    await cluster.waitForLeader();
    const finals = await Promise.all(members.map((m) => call(m, 'log')));
    for (const f of finals) expect(f.status).toBe(200);
    const final = finals[0]!.body.value ?? '';
    for (const f of finals) expect(f.body.value).toBe(final);
    for (const m of members) expect((await m.status())?.snapshotIndex).toBeGreaterThan(0);
    rec.record('final', 'invoke', 'get', 'log', null);
    rec.record('final', 'ok', 'get', 'log', final);
    const missing = rec.acknowledgedLog.filter((v) => !final.split(';').includes(v.slice(0, -1)));
    expect(missing).toEqual([]);

    const result = check(resolveLogInfos(rec.events, final), raftKvModel(), { timeoutMs: 30_000 });
    const oks = rec.events.filter((e) => e.type === 'ok').length;
    const infos = rec.events.filter((e) => e.type === 'info').length;
    console.log(
      `raft serve: ${rec.events.length / 2} ops, ${oks} ok, ${infos} info, ` +
        `${rec.acknowledgedLog.length} acknowledged appends to log, verdict ${result.kind}`,
    );
    if (result.kind !== 'legal') {
      writeFileSync(
        join(tmpdir(), 'faultline-raft-serve-history.json'),
        JSON.stringify(rec.events),
      );
      console.log(explainResult(result, raftKvModel()));
    }
    expect(result.kind).toBe('legal');
    expect(rec.acknowledgedLog.length).toBeGreaterThan(0);
  }, 90_000);
});

/**
 * The safety proof of fenced locks, by simulation. Clients run the production `Lock` against the
 * memory backend behind a simulated network (delays, long-delayed packets, partitions), with
 * process pauses (GC), crashes and restarts, and clock drift within the drift margin. A checker
 * outside the code under test verifies, over 1,000 seeds:
 *
 * 1. server-side mutual exclusion and strictly increasing tokens;
 * 2. no lease is believed valid (signal not aborted) after its server-side expiry;
 * 3. the fenced store never accepts a write older than one it accepted (no two holders' writes are
 *    both accepted out of order);
 *
 * and, as a control that the faults bite, that an unfenced store *does* see out-of-order writes.
 * Every failure message carries its seed.
 */
import { describe, it, expect } from 'vitest';
import type { SeededRandom } from '../core/random.js';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import type { SimRuntime } from '../sim/index.js';
import { isLockLostError, isNotAcquiredError, isBackendUnavailableError } from './errors.js';
import { FencedStore } from './fence.js';
import { Election } from './election.js';
import { Lock } from './lock.js';
import { MemoryLockBackend } from './memory.js';
import type {
  AcquireResult,
  CallOptions,
  ExtendResult,
  Holder,
  Lease,
  LockBackend,
} from './types.js';

const KEY = 'resource';
const SEEDS = Number(process.env['COORD_SIM_SEEDS'] ?? 1_000);
const ELECTION_SEEDS = Number(process.env['COORD_SIM_ELECTION_SEEDS'] ?? 300);
/** `COORD_SIM_SEED=87 npx vitest run src/coord/safety.sim.test.ts` replays one failing seed. */
const REPLAY = process.env['COORD_SIM_SEED'];
const seedsUpTo = (n: number): number[] =>
  REPLAY === undefined ? Array.from({ length: n }, (_, i) => i + 1) : [Number(REPLAY)];

/** What the checker knows about the server's leases: recorded where the server applies them. */
interface TruthLease {
  readonly token: bigint;
  expiresAtMs: number;
}

interface Stats {
  writesAccepted: number;
  writesRejected: number;
  unfencedOutOfOrder: number;
  grants: number;
  losses: number;
}

/** The world of one seed: network, server, truth, fenced and unfenced stores, failures. */
class World {
  readonly scheduler: Scheduler;
  readonly rng: SeededRandom;
  readonly server: MemoryLockBackend;
  readonly truth = new Map<string, TruthLease>();
  readonly store = new FencedStore<string>();
  readonly failures: string[] = [];
  readonly stats: Stats = {
    writesAccepted: 0,
    writesRejected: 0,
    unfencedOutOfOrder: 0,
    grants: 0,
    losses: 0,
  };
  private lastToken = 0n;
  private highestAccepted = 0n;
  private highestUnfenced = 0n;

  constructor(readonly seed: number) {
    this.scheduler = new Scheduler({ seed });
    this.rng = this.scheduler.random.fork('world');
    this.server = new MemoryLockBackend({ runtime: createSimRuntime(this.scheduler, 'server') });
  }

  fail(message: string): void {
    if (this.failures.length < 5)
      this.failures.push(`seed ${this.seed} at ${this.scheduler.nowMs.toFixed(3)} ms: ${message}`);
  }

  /** One-way network delay: mostly short, sometimes a long-delayed packet. */
  delayMs(): number {
    return this.rng.next() < 0.04 ? 50 + this.rng.int(400) : 0.5 + this.rng.exponential(3);
  }

  /** Checks a grant as the server applies it (invariant 1). */
  onGrant(owner: string, result: AcquireResult, ttlMs: number): void {
    if (result.kind !== 'acquired') return;
    this.stats.grants++;
    const now = this.scheduler.nowMs;
    if (result.token <= this.lastToken)
      this.fail(`token ${result.token} not above ${this.lastToken}`);
    this.lastToken = result.token;
    for (const [other, lease] of this.truth) {
      if (lease.expiresAtMs > now)
        this.fail(`granted token ${result.token} while ${other} holds ${lease.token}`);
    }
    this.truth.clear();
    this.truth.set(owner, { token: result.token, expiresAtMs: now + ttlMs });
  }

  onExtend(owner: string, result: ExtendResult): void {
    const lease = this.truth.get(owner);
    if (result.kind === 'extended') {
      if (lease === undefined || lease.expiresAtMs <= this.scheduler.nowMs)
        this.fail(`extended a dead lease of ${owner}`);
      else lease.expiresAtMs = this.scheduler.nowMs + result.ttlMs;
    }
  }

  /** Invariant 2: a lease the client believes valid is alive on the server. */
  probe(lease: Lease | undefined, who: string): void {
    if (lease === undefined || !lease.valid) return;
    const truth = this.truth.get(lease.owner);
    if (
      truth === undefined ||
      truth.token !== lease.token ||
      truth.expiresAtMs <= this.scheduler.nowMs
    ) {
      this.fail(`${who} believes token ${lease.token} valid after its server-side expiry`);
    }
  }

  /** A fenced write arriving at the storage (invariant 3), plus the unfenced control. */
  applyWrite(token: bigint, value: string): void {
    const result = this.store.write(KEY, token, value);
    if (result.kind === 'accepted') {
      this.stats.writesAccepted++;
      if (token < this.highestAccepted)
        this.fail(`accepted token ${token} after ${this.highestAccepted}`);
      this.highestAccepted = token;
    } else {
      this.stats.writesRejected++;
    }
    if (token < this.highestUnfenced) this.stats.unfencedOutOfOrder++;
    if (token > this.highestUnfenced) this.highestUnfenced = token;
  }
}

/** A client process: its runtime, link state and incarnation (bumped by every crash). */
class Client {
  runtime: SimRuntime;
  generation = 0;
  cut = false;
  lease: Lease | undefined;

  constructor(
    readonly name: string,
    readonly world: World,
    driftPpm: number,
  ) {
    this.runtime = createSimRuntime(world.scheduler, name, {
      driftPpm,
      offsetMs: world.rng.float(-5_000, 5_000),
    });
  }

  /** Delivers `fn` into the client after a network delay, unless cut, crashed, or (until resume) paused. */
  deliver(generation: number, fn: () => void): void {
    if (this.cut) return;
    this.world.scheduler.after(this.world.delayMs(), () => {
      if (this.cut || generation !== this.generation) return;
      // Through the client's own timers, so a paused process handles nothing until it resumes.
      this.runtime.timers.setTimer(0, () => {
        if (generation === this.generation) fn();
      });
    });
  }

  /** Sends `fn` to the server after a network delay; lost when the link is cut. */
  send(fn: () => void): void {
    if (this.cut) return;
    this.world.scheduler.after(this.world.delayMs(), () => {
      if (!this.cut) fn();
    });
  }
}

/** The client's view of the backend: every call is a request and a response over the network. */
function remoteBackend(client: Client, queued: boolean): LockBackend {
  const { world } = client;
  const rpc = <T>(
    o: CallOptions,
    serve: (server: CallOptions) => Promise<T>,
    onServed?: (v: T) => void,
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const generation = client.generation;
      const serverSide = new AbortController();
      o.signal.addEventListener(
        'abort',
        () => {
          reject(o.signal.reason);
          client.send(() => serverSide.abort(new Error('client gave up')));
        },
        { once: true },
      );
      client.send(() => {
        serve({ signal: serverSide.signal }).then(
          (value) => {
            onServed?.(value);
            client.deliver(generation, () => resolve(value));
          },
          (error: unknown) => client.deliver(generation, () => reject(error)),
        );
      });
    });
  const s = world.server;
  const backend: LockBackend = {
    name: 'sim-remote',
    guarantees: s.guarantees,
    tryAcquire: (k, owner, ttl, o) =>
      rpc(
        o,
        (so) => s.tryAcquire(k, owner, ttl, so),
        (r) => world.onGrant(owner, r, ttl),
      ),
    extend: (k, owner, token, ttl, o) =>
      rpc(
        o,
        (so) => s.extend(k, owner, token, ttl, so),
        (r) => world.onExtend(owner, r),
      ),
    // A release is unconditional for its owner, so the truth can drop the lease as the server applies it.
    release: (k, owner, o) =>
      rpc(o, (so) => {
        world.truth.delete(owner);
        return s.release(k, owner, so);
      }),
    holder: (k, o): Promise<Holder | null> => rpc(o, (so) => s.holder(k, so)),
    waitForChange: (k, o) => rpc(o, (so) => s.waitForChange(k, so)),
  };
  if (queued) {
    backend.acquireQueued = (k, owner, ttl, o) =>
      rpc(
        o,
        (so) => s.acquireQueued(k, owner, ttl, so),
        (r) => world.onGrant(owner, r, ttl),
      );
  }
  return backend;
}

/** The workload: acquire, do a few steps of work each ending in a fenced write, release or abandon. */
async function worker(client: Client, lock: Lock, generation: number): Promise<void> {
  const { world, runtime } = client;
  const rng = runtime.random;
  let n = 0;
  while (generation === client.generation) {
    try {
      const autoRenew = rng.next() < 0.5;
      const lease = await lock.acquire(KEY, {
        ttlMs: 150 + rng.int(300),
        waitMs: rng.next() < 0.5 ? 300 + rng.int(1_000) : Number.POSITIVE_INFINITY,
        autoRenew,
      });
      client.lease = lease;
      lease.onLost(() => world.stats.losses++);
      for (let step = 1 + rng.int(4); step > 0; step--) {
        await runtime.timers.sleep(rng.exponential(30));
        world.probe(lease, client.name);
        if (!lease.valid) break;
        const value = `${client.name}#${generation}.${n++}`;
        client.send(() => world.applyWrite(lease.token, value));
      }
      // Some holders forget to release (the lease then expires); a watchdog lease would renew forever.
      if (autoRenew || rng.next() < 0.85) await lease.release();
    } catch (error) {
      if (
        !isNotAcquiredError(error) &&
        !isLockLostError(error) &&
        !isBackendUnavailableError(error)
      ) {
        world.fail(`unexpected error in ${client.name}: ${String(error)}`);
      }
    }
    await runtime.timers.sleep(rng.exponential(20));
  }
}

type Start = (client: Client) => void;

function lockClient(queued: boolean): Start {
  return (client) => {
    const lock = new Lock(remoteBackend(client, queued), {
      runtime: client.runtime,
      callTimeoutMs: 80,
      recheckMs: 200,
    });
    void worker(client, lock, client.generation);
  };
}

/** Election timing for the simulation: lease 400 ms, renew deadline 300 ms, retry period 100 ms. */
const ELECTION_TIMING = { leaseDurationMs: 400, renewDeadlineMs: 300, retryPeriodMs: 100 };

function electionClient(queued: boolean): Start {
  return (client) => {
    const election = new Election(remoteBackend(client, queued), {
      key: KEY,
      candidateId: client.name,
      runtime: client.runtime,
      callTimeoutMs: 80,
      ...ELECTION_TIMING,
    });
    void candidate(client, election, client.generation);
  };
}

/** A candidate: campaign, lead for a while writing with its term as the token, sometimes resign. */
async function candidate(client: Client, election: Election, generation: number): Promise<void> {
  const { world, runtime } = client;
  const rng = runtime.random;
  let n = 0;
  while (generation === client.generation) {
    try {
      const leadership = await election.campaign();
      client.lease = leadership;
      for (let step = 1 + rng.int(4); step > 0; step--) {
        await runtime.timers.sleep(rng.exponential(40));
        world.probe(leadership, client.name);
        if (!leadership.valid) break;
        const value = `${client.name}#${generation}.${n++}`;
        client.send(() => world.applyWrite(leadership.term, value));
      }
      if (rng.next() < 0.3) await election.resign();
    } catch (error) {
      if (!isBackendUnavailableError(error))
        world.fail(`unexpected error in ${client.name}: ${String(error)}`);
    }
    await runtime.timers.sleep(rng.exponential(20));
  }
}

/** Random faults over the run: pauses, partitions, crashes with restarts. */
function scheduleFaults(world: World, clients: Client[], start: Start, untilMs: number): void {
  const { scheduler, rng } = world;
  for (let t = rng.exponential(150); t < untilMs; t += rng.exponential(150)) {
    const c = rng.pick(clients);
    const kind = rng.int(3);
    const lengthMs = 50 + rng.int(600);
    scheduler.at(t, () => {
      if (kind === 0) {
        c.runtime.timers.pause();
        scheduler.after(lengthMs, () => c.runtime.timers.resume());
      } else if (kind === 1) {
        c.cut = true;
        scheduler.after(lengthMs, () => (c.cut = false));
      } else {
        c.generation++;
        c.lease = undefined;
        c.runtime.timers.reset();
        scheduler.after(lengthMs, () => start(c));
      }
    });
  }
}

/** Runs one seed and returns its world (failures and statistics). */
async function runSeed(
  seed: number,
  options: { driftPpm: number; untilMs: number; mode?: 'lock' | 'election' },
): Promise<World> {
  const world = new World(seed);
  const queued = world.rng.next() < 0.5;
  const start = options.mode === 'election' ? electionClient(queued) : lockClient(queued);
  const clients = [0, 1, 2].map(
    (i) => new Client(`c${i}`, world, world.rng.float(-options.driftPpm, options.driftPpm)),
  );
  for (const c of clients) start(c);
  if (process.env['COORD_SIM_NOFAULTS'] === undefined) {
    scheduleFaults(world, clients, start, options.untilMs);
  }
  // An auditor outside every client probes all believed-valid leases, paused clients included.
  const audit = (): void => {
    for (const c of clients) world.probe(c.lease, c.name);
    const believers = clients.filter((c) => c.lease?.valid === true).map((c) => c.name);
    if (believers.length > 1)
      world.fail(`${believers.join(' and ')} both believe they hold the lease`);
    if (world.scheduler.nowMs < options.untilMs)
      world.scheduler.after(3 + world.rng.int(10), audit);
  };
  world.scheduler.after(1, audit);
  await world.scheduler.run({ untilMs: options.untilMs, until: () => world.failures.length > 0 });
  if (process.env['COORD_SIM_STATS'] !== undefined && seed <= 3) {
    console.log(
      seed,
      world.scheduler.eventsExecuted,
      world.scheduler.nowMs,
      JSON.stringify(world.stats),
    );
  }
  for (const c of clients) c.generation++;
  world.server.close();
  return world;
}

describe('fenced lock safety under simulation', () => {
  it('holds mutual exclusion, client-side validity and fencing over 1,000 seeds', async () => {
    const failures: string[] = [];
    const total: Stats = {
      writesAccepted: 0,
      writesRejected: 0,
      unfencedOutOfOrder: 0,
      grants: 0,
      losses: 0,
    };
    let seedsWithUnfencedViolation = 0;
    for (const seed of seedsUpTo(SEEDS)) {
      const world = await runSeed(seed, { driftPpm: 5_000, untilMs: 4_000 });
      failures.push(...world.failures);
      for (const k of Object.keys(total) as (keyof Stats)[]) total[k] += world.stats[k];
      if (world.stats.unfencedOutOfOrder > 0) seedsWithUnfencedViolation++;
      if (failures.length > 0) break;
    }
    if (process.env['COORD_SIM_STATS'] !== undefined)
      console.log(JSON.stringify({ total, seedsWithUnfencedViolation }));
    expect(failures).toEqual([]);
    // The faults must bite: without fencing, stale writes land after newer ones in many runs.
    if (REPLAY !== undefined) return;
    expect(seedsWithUnfencedViolation).toBeGreaterThan(SEEDS / 10);
    expect(total.writesRejected).toBeGreaterThan(SEEDS / 10);
    expect(total.grants).toBeGreaterThan(SEEDS * 10);
    expect(total.writesAccepted).toBeGreaterThan(total.writesRejected);
  }, 300_000);

  it('elects at most one believed leader at a time, with increasing terms that fence writes', async () => {
    const failures: string[] = [];
    let grants = 0;
    let rejected = 0;
    for (const seed of seedsUpTo(ELECTION_SEEDS)) {
      if (failures.length > 0) break;
      const world = await runSeed(seed, { driftPpm: 5_000, untilMs: 3_000, mode: 'election' });
      failures.push(...world.failures);
      grants += world.stats.grants;
      rejected += world.stats.writesRejected;
    }
    expect(failures).toEqual([]);
    if (REPLAY !== undefined) return;
    expect(grants).toBeGreaterThan(ELECTION_SEEDS * 3);
    expect(rejected).toBeGreaterThan(0);
  }, 60_000);

  it('the checker catches a client clock drifting beyond the drift margin', async () => {
    // Control: with clocks 3% slow and a 1% margin, some lease must look valid after server expiry.
    let caught: string | undefined;
    for (let seed = 1; seed <= 200 && caught === undefined; seed++) {
      const world = await runSlowClockSeed(seed);
      caught = world.failures.find((f) => f.includes('believes'));
    }
    expect(caught).toMatch(/^seed \d+ .*believes token \d+ valid after its server-side expiry/);
  }, 60_000);
});

/** Like {@link runSeed} but every client clock runs 3% slow. */
async function runSlowClockSeed(seed: number): Promise<World> {
  const world = new World(seed);
  const clients = [0, 1].map((i) => new Client(`c${i}`, world, -30_000));
  const start = lockClient(false);
  for (const c of clients) start(c);
  const audit = (): void => {
    for (const c of clients) world.probe(c.lease, c.name);
    if (world.scheduler.nowMs < 2_000) world.scheduler.after(1, audit);
  };
  world.scheduler.after(1, audit);
  await world.scheduler.run({ untilMs: 2_000, until: () => world.failures.length > 0 });
  for (const c of clients) c.generation++;
  world.server.close();
  return world;
}

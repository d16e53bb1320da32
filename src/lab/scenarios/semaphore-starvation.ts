/**
 * Semaphore starvation: a request for every permit waits forever while small requests keep taking
 * the permits the moment they are freed (the "writer starvation" of readers–writers locks).
 *
 * @module
 */
import { isLockTimeoutError } from '../../coord/errors.js';
import { MemorySemaphoreBackend } from '../../coord/memory.js';
import { Semaphore } from '../../coord/semaphore.js';
import type { SemaphoreBackend } from '../../coord/types.js';
import type { Node } from '../../sim/node.js';
import type { LabContext, Scenario, VariantOutcome } from '../types.js';

const HORIZON_MS = 1_500;
const KEY = 'exports';
const PERMITS = 3;
/** The small workers stop starting new work after this, so the run ends. */
const SMALL_STOP_MS = 900;

/**
 * The permit server without its queue: every SPI call but `acquireQueued`, so clients wait by
 * retrying after a change notification and the fastest retry wins.
 */
function withoutQueue(inner: MemorySemaphoreBackend): SemaphoreBackend {
  return {
    name: 'memory-no-queue',
    guarantees: { ...inner.guarantees, fifo: false },
    multiPermit: true,
    tryAcquire: (key, owner, limit, ttlMs, o) => inner.tryAcquire(key, owner, limit, ttlMs, o),
    extend: (key, owner, token, ttlMs, o) => inner.extend(key, owner, token, ttlMs, o),
    release: (key, owner, o) => inner.release(key, owner, o),
    waitForChange: (key, o) => inner.waitForChange(key, o),
    holders: (key, o) => inner.holders(key, o),
  };
}

/** What the run observed of the big request. */
interface BigRequest {
  grantedAtMs: number | undefined;
  gaveUpAtMs: number | undefined;
  gaveUpNote: number | undefined;
  askedAtMs: number;
  smallGrantsWhileWaiting: number;
}

/** A worker taking one permit at a time for a short job, again and again. */
async function smallWorker(
  node: Node,
  backend: SemaphoreBackend,
  holdMs: () => number,
  big: BigRequest,
): Promise<void> {
  const { runtime } = node;
  const semaphore = new Semaphore(backend, { permits: PERMITS, runtime });
  try {
    while (runtime.clock.monotonicMs() < SMALL_STOP_MS) {
      const permit = await semaphore.acquire(KEY, { ttlMs: 1_000, waitMs: 2_000 });
      const waiting = big.askedAtMs >= 0 && big.grantedAtMs === undefined;
      if (waiting && big.gaveUpAtMs === undefined) big.smallGrantsWhileWaiting++;
      await runtime.timers.sleep(holdMs());
      await permit.release();
    }
  } finally {
    await semaphore.close();
  }
}

/** The export that needs every permit at once, and may wait `waitMs` for them. */
async function bigWorker(
  context: LabContext,
  node: Node,
  backend: SemaphoreBackend,
  startMs: number,
  waitMs: number,
  big: BigRequest,
): Promise<void> {
  const { runtime } = node;
  const semaphore = new Semaphore(backend, { permits: PERMITS, runtime });
  try {
    await runtime.timers.sleep(startMs);
    big.askedAtMs = runtime.clock.monotonicMs();
    context.note(node.name, `asks for all ${PERMITS} permits`);
    const lease = await semaphore.acquire(KEY, { ttlMs: 1_000, waitMs, permits: PERMITS });
    big.grantedAtMs = runtime.clock.monotonicMs();
    context.note(node.name, `holds all ${PERMITS} permits: token ${lease.token}`);
    await runtime.timers.sleep(10);
    await lease.release();
  } catch (error) {
    if (!isLockTimeoutError(error)) throw error;
    big.gaveUpAtMs = runtime.clock.monotonicMs();
    big.gaveUpNote = context.note(node.name, `gave up after ${waitMs} ms: starved`);
  } finally {
    await semaphore.close();
  }
}

async function run(context: LabContext, fifo: boolean): Promise<VariantOutcome> {
  const sim = context.simulation();
  const waitMs = context.knobs['waitMs'] ?? 300;
  const random = sim.random.fork('semaphore-starvation');
  const startMs = 30 + random.int(30);
  const big: BigRequest = {
    grantedAtMs: undefined,
    gaveUpAtMs: undefined,
    gaveUpNote: undefined,
    askedAtMs: -1,
    smallGrantsWhileWaiting: 0,
  };
  // One permit server shared by every client (in-process calls: see `standIn`).
  const server = sim.node('server');
  const memory = new MemorySemaphoreBackend({ runtime: server.runtime });
  const backend = fifo ? memory : withoutQueue(memory);
  for (let i = 0; i < PERMITS; i++) {
    const holdRandom = random.fork(`small-${i}`);
    sim
      .node(`small-${i}`)
      .start((node) => smallWorker(node, backend, () => 5 + holdRandom.int(20), big));
  }
  sim.node('big').start((node) => bigWorker(context, node, backend, startMs, waitMs, big));
  await sim.run({ untilMs: HORIZON_MS });
  await memory.close();

  const waitedMs = (big.grantedAtMs ?? big.gaveUpAtMs ?? HORIZON_MS) - big.askedAtMs;
  const figures = { bigWaitMs: waitedMs, smallGrantsWhileWaiting: big.smallGrantsWhileWaiting };
  if (big.gaveUpAtMs === undefined) return { violated: false, figures };
  return {
    violated: true,
    evidence: {
      timeMs: big.gaveUpAtMs,
      summary: `the request for all ${PERMITS} permits waited ${waitMs} ms and got none while small requests were granted ${big.smallGrantsWhileWaiting} times`,
      node: 'big',
      ...(big.gaveUpNote === undefined ? {} : { traceIndex: big.gaveUpNote }),
      operations: [`big acquire ${PERMITS} permits [${big.askedAtMs} .. ${big.gaveUpAtMs} ms]`],
    },
    figures,
  };
}

/** The semaphore-starvation scenario. */
export const semaphoreStarvation: Scenario = {
  name: 'semaphore-starvation',
  title: 'Semaphore starvation',
  problem:
    'A job that needs every permit of a semaphore waits while small jobs keep taking one permit ' +
    'each: a freed permit goes to whoever asks first, so all permits are never free at once and ' +
    'the big job waits until it gives up.',
  reference:
    'Courtois, Heymans and Parnas, “Concurrent control with readers and writers” (1971); ' +
    'redis-semaphore’s MultiSemaphore',
  property:
    'The request for every permit is granted within its waitMs while the small jobs keep coming; ' +
    'checked outside the semaphore from the big client’s own outcome.',
  standIn:
    'The permit server is faultline’s MemorySemaphoreBackend on its own simulated node, called ' +
    'in-process by the clients (no network). The unsafe variant hides its acquireQueued, which ' +
    'is what a backend without a server-side queue looks like to the Semaphore client.',
  api: [
    "import { Semaphore } from 'faultline/coord';",
    "import { RedisSemaphoreBackend } from 'faultline/redis'; // FIFO queue in Redis",
    'const pool = new Semaphore(new RedisSemaphoreBackend(redis), { permits: 3 });',
    "await using all = await pool.acquire('exports', { ttlMs: 60_000, permits: 3, waitMs: 300 });",
  ].join('\n'),
  figures: [
    { name: 'bigWaitMs', label: 'big request waited', unit: 'ms', better: 'lower', key: true },
    {
      name: 'smallGrantsWhileWaiting',
      label: 'small grants while it waited',
      unit: 'grants',
      better: 'lower',
      key: true,
    },
  ],
  knobs: [
    {
      name: 'waitMs',
      label: 'big request waitMs',
      min: 50,
      max: 1_000,
      step: 10,
      default: 300,
      unit: 'ms',
    },
  ],
  variants: {
    unsafe: {
      summary:
        'No server-side queue: waiters retry on a change notification and a freed permit goes to the first retry.',
      run: (context) => run(context, false),
    },
    safe: {
      summary:
        'A FIFO queue on the server: the head (the big request) blocks the small requests behind it until its permits fit.',
      run: (context) => run(context, true),
    },
  },
};

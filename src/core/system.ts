/**
 * The real runtime. This is the ONLY file under `src/` that may read `Date.now`,
 * `performance.now`, `Math.random`, crypto randomness or the global timers (lint enforces it).
 *
 * @module
 */
import { sleepOn } from './abort.js';
import { RandomBase, SeededRandom } from './random.js';
import type { Cancel, Clock, Random, Runtime, TimerOptions, Timers } from './runtime.js';
import { rangeError } from './validate.js';

/** The process clock: `performance.now()` for monotonic time, `Date.now()` for wall time. */
export const systemClock: Clock = Object.freeze({
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
});

function checkDelay(ms: number): number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw rangeError('ms', 'a number >= 0', ms);
  }
  // Node clamps delays above 2^31-1 to 1 ms; clamp to the maximum instead.
  return Math.min(ms, 2147483647);
}

/**
 * Real timers that count what is pending, so tests can prove that nothing is left running after a
 * component closes.
 */
export class SystemTimers implements Timers {
  private pendingCount = 0;

  /** Timers armed and neither fired nor cancelled yet. */
  get pending(): number {
    return this.pendingCount;
  }

  setTimer(ms: number, fn: () => void, options?: TimerOptions): Cancel {
    const delay = checkDelay(ms);
    let done = false;
    this.pendingCount++;
    const handle = setTimeout(() => {
      done = true;
      this.pendingCount--;
      fn();
    }, delay);
    // Browsers' timers are numbers, without unref (the lab's page bundles this file).
    if (options?.keepAlive === false && typeof handle === 'object') handle.unref();
    return () => {
      if (done) return;
      done = true;
      this.pendingCount--;
      clearTimeout(handle);
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn((delay, fn) => this.setTimer(delay, fn), ms, signal);
  }
}

/**
 * Fills `bytes` from the platform's CSPRNG (Web Crypto, present in Node 20 and in browsers alike,
 * so the lab's page can bundle this file). `getRandomValues` takes at most 65,536 bytes a call.
 */
function fillRandom<T extends Uint8Array<ArrayBuffer> | Uint32Array<ArrayBuffer>>(bytes: T): T {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let start = 0; start < view.length; start += MAX_RANDOM_FILL_BYTES) {
    globalThis.crypto.getRandomValues(
      view.subarray(start, Math.min(view.length, start + MAX_RANDOM_FILL_BYTES)),
    );
  }
  return bytes;
}

/** The most bytes one `crypto.getRandomValues` call may fill (Web Crypto's limit). */
const MAX_RANDOM_FILL_BYTES = 65_536;

/** Bytes drawn from the CSPRNG at a time by {@link SystemRandom.bytes}. */
export const RANDOM_POOL_BYTES = 4096;

/**
 * A fast generator for `next()` and friends, seeded from the operating system's CSPRNG; `bytes()`
 * always comes from the CSPRNG, so owner ids and idempotency keys are unguessable.
 *
 * `bytes(n)` for small `n` is served from a pool of `RANDOM_POOL_BYTES` (4,096) CSPRNG bytes drawn in
 * one `crypto.getRandomValues` call (one system call per 256 owner ids instead of one each; Node's
 * `crypto.randomUUID` caches entropy the same way). Every byte is handed out once: the bytes
 * returned are a copy, and the pool's copy is zeroed as it is consumed, so no earlier value stays
 * in the pool. Requests larger than a quarter of the pool go straight to the CSPRNG.
 */
export class SystemRandom extends RandomBase {
  private readonly fast: SeededRandom;
  private readonly pool = new Uint8Array(RANDOM_POOL_BYTES);
  /** Next unused byte of `pool`; `pool.length` means empty. */
  private offset = RANDOM_POOL_BYTES;

  constructor() {
    super();
    const seed = new Uint32Array(4);
    fillRandom(seed);
    this.fast = SeededRandom.fromState(seed[0] ?? 1, seed[1] ?? 2, seed[2] ?? 3, seed[3] ?? 4);
  }

  nextUint32(): number {
    return this.fast.nextUint32();
  }

  override bytes(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0) throw rangeError('n', 'an integer >= 0', n);
    return this.fillBytes(new Uint8Array(n));
  }

  /** Fills `out` from the pool (no allocation: owner ids draw through here), or the CSPRNG when large. */
  override fillBytes(out: Uint8Array): Uint8Array {
    const n = out.length;
    if (n > RANDOM_POOL_BYTES / 4) return fillRandom(out as Uint8Array<ArrayBuffer>);
    if (RANDOM_POOL_BYTES - this.offset < n) {
      fillRandom(this.pool);
      this.offset = 0;
    }
    const { pool } = this;
    const start = this.offset;
    this.offset += n;
    for (let i = 0; i < n; i++) {
      out[i] = pool[start + i] ?? 0;
      pool[start + i] = 0;
    }
    return out;
  }

  fork(_label: string): Random {
    return new SystemRandom();
  }
}

/** Creates a fresh system runtime (its own timer bookkeeping and random stream). */
export function createSystemRuntime(): Runtime & { readonly timers: SystemTimers } {
  return { clock: systemClock, timers: new SystemTimers(), random: new SystemRandom() };
}

let shared: Runtime | undefined;

/** The process-wide system runtime, the default of every component. */
export function systemRuntime(): Runtime {
  shared ??= createSystemRuntime();
  return shared;
}

/**
 * Resolves after every pending microtask has run (one macrotask turn). The simulator uses it to let
 * async production code settle between virtual events; in simulation nothing else is in flight, so
 * the outcome is deterministic.
 *
 * Node has `setImmediate`; browsers do not, and `setTimeout(0)` is clamped to 4 ms there once
 * nested, so they get a `MessageChannel` turn instead (a task, not clamped).
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof globalThis.setImmediate === 'function')
    return new Promise((resolve) => setImmediate(resolve));
  return channelYield();
}

/**
 * Resolves once the microtask queue is empty: every promise continuation queued so far has run,
 * and every one those queued in turn. Unlike {@link yieldToEventLoop} it gives the event loop no
 * turn (no I/O, no real timers run), which makes it several times cheaper; the simulator uses it
 * between virtual events, where nothing but promises is in flight, and yields a real turn now and
 * then so the process stays responsive.
 *
 * On Node a `process.nextTick` callback queued from a microtask runs only after the microtask
 * queue has drained (and after every tick queued before it), so awaiting one settles exactly what
 * a macrotask turn would. Elsewhere this is {@link yieldToEventLoop}.
 */
export function settleMicrotasks(): Promise<void> {
  const nextTick = (globalThis as { process?: { nextTick?: (fn: () => void) => void } }).process
    ?.nextTick;
  if (typeof nextTick === 'function')
    return new Promise((resolve) => {
      nextTick(resolve);
    });
  return yieldToEventLoop();
}

/** Resolvers waiting for their `MessageChannel` turn, in posting order (ports keep that order). */
const channelWaiters: (() => void)[] = [];

/** What {@link channelYield} uses of a `MessagePort`, common to browsers and Node. */
interface YieldPort {
  onmessage: (() => void) | null;
  postMessage(message: unknown): void;
  unref?: () => void;
}

let channel: { readonly port1: YieldPort; readonly port2: YieldPort } | undefined;

function channelYield(): Promise<void> {
  if (channel === undefined) {
    const created = new MessageChannel() as unknown as { port1: YieldPort; port2: YieldPort };
    created.port1.onmessage = () => channelWaiters.shift()?.();
    // Where ports can keep a process alive (Node), this one must not: it only serves waiters.
    created.port1.unref?.();
    channel = created;
  }
  const port = channel.port2;
  return new Promise((resolve) => {
    channelWaiters.push(resolve);
    port.postMessage(0);
  });
}

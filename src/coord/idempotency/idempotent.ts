/**
 * `idempotent(key, request, fn, options)`: run a request once per idempotency key, replay its
 * stored result to repeats, and fence the record so a late invocation cannot overwrite or delete
 * the record of the retry that took over from it.
 *
 * @module
 */
import { abortReason, onAbort, raceAbort } from '../../core/abort.js';
import { assert } from '../../core/assert.js';
import type { EventChannel } from '../../core/diagnostics.js';
import { eventChannel, publish } from '../../core/diagnostics.js';
import type { Cancel, Runtime } from '../../core/runtime.js';
import { systemRuntime } from '../../core/system.js';
import { integerIn, positive, rangeError } from '../../core/validate.js';
import { BackendUnavailableError } from '../errors.js';
import {
  IdempotencyFencedError,
  IdempotencyInProgressError,
  IdempotencyMismatchError,
  IdempotentFailureError,
} from './errors.js';
import type { FenceLoss } from './errors.js';
import { LONE_SURROGATE, fingerprintOf } from './fingerprint.js';
import type { IdempotencyStore, StoreCallOptions, StoredOutcome } from './types.js';
import { MAX_FINGERPRINT_LENGTH } from './types.js';

/** Longest idempotency key accepted. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 512;

/** Turns a value into the text a store keeps, and back. */
export interface IdempotencyCodec<T> {
  encode(value: T): string;
  decode(data: string): T;
}

/** What `fn` receives: who it is, and a signal that aborts when it must stop. */
export interface IdempotentContext {
  /** The idempotency key. */
  readonly key: string;
  /** This invocation's owner id (unique per invocation). */
  readonly owner: string;
  /** The record's epoch this invocation holds: 1, or more after takeovers. */
  readonly epoch: number;
  /**
   * The epoch as a fencing token. Side effects that must happen once even when a lease expires
   * mid-work should be written with it (for example with `FencedStore` keyed by the idempotency key),
   * so a late invocation's writes are refused once a retry took over.
   */
  readonly token: bigint;
  /** True when an earlier invocation's lease expired and this one took the record over. */
  readonly takeover: boolean;
  /**
   * Aborts when the caller's signal does, or when the lease is lost (with an
   * {@link IdempotencyFencedError}): the work should stop, its result can no longer be recorded.
   */
  readonly signal: AbortSignal;
}

/** What happened to one call of {@link idempotent}, for logs and metrics (`onEvent`). */
export type IdempotencyEvent =
  | {
      readonly kind: 'started';
      readonly key: string;
      readonly epoch: number;
      readonly takeover: boolean;
    }
  | { readonly kind: 'replayed'; readonly key: string }
  | { readonly kind: 'waiting'; readonly key: string; readonly retryAfterMs: number }
  | { readonly kind: 'completed'; readonly key: string; readonly epoch: number }
  | {
      readonly kind: 'failed';
      readonly key: string;
      readonly epoch: number;
      readonly policy: FailurePolicy;
    }
  | {
      readonly kind: 'fenced';
      readonly key: string;
      readonly epoch: number;
      readonly reason: FenceLoss;
    };

/** What to do with the record when `fn` throws. */
export type FailurePolicy = 'forget' | 'record';

/** Options of {@link idempotent}. */
export interface IdempotentOptions<T> {
  /** Where records live: `MemoryIdempotencyStore`, or the Redis / PostgreSQL stores. */
  store: IdempotencyStore;
  /**
   * How long a completed record is kept (and replayed), in milliseconds; default 86,400,000 (24 h).
   * Longer protects later retries; shorter keeps the store small.
   */
  ttlMs?: number;
  /**
   * Lease of an in-progress record, in milliseconds; default 60,000. A duplicate waits while the
   * lease is live; once it expires, a retry takes the record over (next epoch) and the late
   * invocation is fenced off. Make it longer than `fn` normally takes, or keep `renew` on.
   */
  leaseMs?: number;
  /** Renew the lease every `leaseMs / 3` while `fn` runs (default true). */
  renew?: boolean;
  /** A duplicate that finds the key in progress: `wait` for the outcome (default) or `error` at once. */
  concurrent?: 'wait' | 'error';
  /** How long a duplicate waits, in milliseconds; default `leaseMs`. Then `IdempotencyInProgressError`. */
  waitMs?: number;
  /** How often a waiting duplicate looks again, in milliseconds; default 100. */
  pollMs?: number;
  /**
   * When `fn` throws: `forget` (default) deletes the record so a retry runs again; `record` keeps
   * the failure and repeats get an {@link IdempotentFailureError}. A function decides per error.
   */
  onError?: FailurePolicy | ((error: unknown) => FailurePolicy);
  /** The request's fingerprint (default: SHA-256 of its canonical JSON); at most 128 characters. */
  fingerprint?: (request: unknown) => string;
  /** How results are stored (default JSON, which turns `undefined` into `null`). */
  codec?: IdempotencyCodec<T>;
  /** Deadline of each store call, in milliseconds; default 5,000. */
  callTimeoutMs?: number;
  /** The runtime (default: the system runtime). */
  runtime?: Runtime;
  /** Cancels waiting and aborts `fn`'s signal. */
  signal?: AbortSignal;
  /**
   * Called with each {@link IdempotencyEvent} of the call (started, replayed, waiting — once per
   * call —, completed, failed, fenced). A listener that throws is ignored.
   */
  onEvent?: (event: IdempotencyEvent) => void;
}

/** The outcome of {@link runIdempotent}. */
export interface IdempotentResult<T> {
  readonly value: T;
  /** True when the value was replayed from the store rather than computed by this call. */
  readonly replayed: boolean;
  /** The epoch this call ran under, or `undefined` for a replay. */
  readonly epoch: number | undefined;
}

/** Validated options (internal: shared with the PostgreSQL multi-phase runner). */
export interface Resolved<T> {
  readonly store: IdempotencyStore;
  readonly ttlMs: number;
  readonly leaseMs: number;
  readonly renew: boolean;
  readonly concurrent: 'wait' | 'error';
  readonly waitMs: number;
  readonly pollMs: number;
  readonly onError: (error: unknown) => FailurePolicy;
  readonly fingerprint: (request: unknown) => string;
  readonly codec: IdempotencyCodec<T>;
  readonly callTimeoutMs: number;
  readonly runtime: Runtime;
  readonly signal: AbortSignal | undefined;
  readonly emit: (event: IdempotencyEvent) => void;
}

const MAX_MS = 2 ** 31 - 1;
const jsonCodec: IdempotencyCodec<never> = {
  encode: (value) => JSON.stringify(value ?? null),
  decode: (data) => JSON.parse(data) as never,
};

/** Validates options into {@link Resolved} (RangeError naming the field). */
export function resolveOptions<T>(options: IdempotentOptions<T>): Resolved<T> {
  if (typeof options !== 'object' || options === null)
    throw rangeError('options', 'an object', options);
  const store = options.store;
  if (typeof store?.begin !== 'function') throw rangeError('store', 'an IdempotencyStore', store);
  const leaseMs = integerIn('leaseMs', options.leaseMs ?? 60_000, 1, MAX_MS);
  const onError = options.onError ?? 'forget';
  if (typeof onError !== 'function' && onError !== 'forget' && onError !== 'record')
    throw rangeError('onError', "'forget', 'record' or a function", onError);
  const concurrent = options.concurrent ?? 'wait';
  if (concurrent !== 'wait' && concurrent !== 'error')
    throw rangeError('concurrent', "'wait' or 'error'", concurrent);
  const renew = options.renew ?? true;
  if (typeof renew !== 'boolean') throw rangeError('renew', 'a boolean', renew);
  return {
    store,
    ttlMs: integerIn('ttlMs', options.ttlMs ?? 86_400_000, 1, 2 ** 40),
    leaseMs,
    renew,
    concurrent,
    waitMs: integerIn('waitMs', options.waitMs ?? leaseMs, 0, MAX_MS),
    pollMs: integerIn('pollMs', options.pollMs ?? 100, 1, MAX_MS),
    onError: typeof onError === 'function' ? onError : () => onError,
    fingerprint: options.fingerprint ?? fingerprintOf,
    codec: options.codec ?? (jsonCodec as IdempotencyCodec<T>),
    callTimeoutMs: positive('callTimeoutMs', options.callTimeoutMs ?? 5_000),
    runtime: options.runtime ?? systemRuntime(),
    signal: options.signal,
    emit: emitterOf(options.onEvent),
  };
}

/** `faultline:idempotency:<kind>` for every kind of {@link IdempotencyEvent}. */
const channels: Readonly<
  Record<IdempotencyEvent['kind'], EventChannel<IdempotencyEvent> | undefined>
> = {
  started: eventChannel('faultline:idempotency:started'),
  replayed: eventChannel('faultline:idempotency:replayed'),
  waiting: eventChannel('faultline:idempotency:waiting'),
  completed: eventChannel('faultline:idempotency:completed'),
  failed: eventChannel('faultline:idempotency:failed'),
  fenced: eventChannel('faultline:idempotency:fenced'),
};

function emitterOf(listener: unknown): (event: IdempotencyEvent) => void {
  if (listener !== undefined && typeof listener !== 'function')
    throw rangeError('onEvent', 'a function', listener);
  return (event) => {
    publish(channels[event.kind], () => event);
    if (listener === undefined) return;
    try {
      (listener as (event: IdempotencyEvent) => void)(event);
    } catch {
      // A failing listener must not change the outcome of the request.
    }
  };
}

/** Validates an idempotency key: 1..512 characters of valid Unicode. */
export function checkIdempotencyKey(key: string): string {
  const ok =
    typeof key === 'string' &&
    key.length > 0 &&
    key.length <= MAX_IDEMPOTENCY_KEY_LENGTH &&
    !LONE_SURROGATE.test(key);
  if (!ok)
    throw rangeError(
      'key',
      `a string of 1..${MAX_IDEMPOTENCY_KEY_LENGTH} valid Unicode characters`,
      key,
    );
  return key;
}

function fingerprintFor(o: Resolved<unknown>, request: unknown): string {
  const fp = o.fingerprint(request);
  if (typeof fp !== 'string' || fp.length === 0 || fp.length > MAX_FINGERPRINT_LENGTH)
    throw rangeError('fingerprint', `a string of 1..${MAX_FINGERPRINT_LENGTH} characters`, fp);
  return fp;
}

function newOwner(runtime: Runtime): string {
  let hex = '';
  for (const b of runtime.random.bytes(16)) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/**
 * One store call bounded by `callTimeoutMs` and the caller's signal. A timeout rejects with
 * {@link BackendUnavailableError}: the call's outcome is unknown.
 */
export async function storeCall<R>(
  runtime: Runtime,
  operation: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  fn: (options: StoreCallOptions) => Promise<R>,
): Promise<R> {
  const controller = new AbortController();
  const cancel = runtime.timers.setTimer(timeoutMs, () =>
    controller.abort(new BackendUnavailableError(operation, `no answer within ${timeoutMs} ms`)),
  );
  const link = onAbort(signal, (reason) => controller.abort(reason));
  try {
    return await raceAbort(fn({ signal: controller.signal }), controller.signal);
  } finally {
    cancel();
    link.dispose();
  }
}

/**
 * Runs `fn` once for `key`: the first call runs it and stores the result; repeats (after it
 * completed) replay the stored result; a concurrent duplicate waits for the outcome (or gets
 * {@link IdempotencyInProgressError} with `concurrent: 'error'`); the same key with a different
 * request is an {@link IdempotencyMismatchError}.
 *
 * @example
 * const store = new MemoryIdempotencyStore();
 * const receipt = await idempotent(
 *   req.header('Idempotency-Key'),
 *   req.body,
 *   (ctx) => payments.charge(req.body, { signal: ctx.signal }),
 *   { store, leaseMs: 30_000 },
 * );
 */
export async function idempotent<T>(
  key: string,
  request: unknown,
  fn: (context: IdempotentContext) => Promise<T>,
  options: IdempotentOptions<T>,
): Promise<T> {
  return (await runIdempotent(key, request, fn, options)).value;
}

/** Like {@link idempotent}, but also says whether the value was replayed and under which epoch. */
export async function runIdempotent<T>(
  key: string,
  request: unknown,
  fn: (context: IdempotentContext) => Promise<T>,
  options: IdempotentOptions<T>,
): Promise<IdempotentResult<T>> {
  checkIdempotencyKey(key);
  if (typeof fn !== 'function') throw rangeError('fn', 'a function', fn);
  const o = resolveOptions(options);
  const claimed = await claimKey(key, request, o);
  if (claimed.kind === 'replayed')
    return { value: claimed.value, replayed: true, epoch: undefined };
  return execute(o, fn, claimed.claim);
}

/**
 * Claims `key` for a new invocation, waiting while another one runs: the claim, or the stored
 * outcome replayed (internal: shared with the PostgreSQL multi-phase runner).
 */
export async function claimKey<T>(
  key: string,
  request: unknown,
  o: Resolved<T>,
): Promise<{ kind: 'replayed'; value: T } | { kind: 'claimed'; claim: Claim }> {
  const fingerprint = fingerprintFor(o as Resolved<unknown>, request);
  const owner = newOwner(o.runtime);
  const { clock } = o.runtime;
  const startMs = clock.monotonicMs();
  let waited = false;
  for (;;) {
    if (o.signal?.aborted) throw abortReason(o.signal);
    const sentMs = clock.monotonicMs();
    const begun = await storeCall(o.runtime, 'begin', o.callTimeoutMs, o.signal, (c) =>
      o.store.begin({ key, fingerprint, owner, leaseMs: o.leaseMs, ttlMs: o.ttlMs }, c),
    );
    switch (begun.kind) {
      case 'mismatch':
        throw new IdempotencyMismatchError(key, begun.storedFingerprint, fingerprint);
      case 'completed':
        o.emit({ kind: 'replayed', key });
        return { kind: 'replayed', value: replay(o, key, begun.outcome) };
      case 'started':
        o.emit({ kind: 'started', key, epoch: begun.epoch, takeover: begun.takeover });
        return {
          kind: 'claimed',
          claim: { key, owner, epoch: begun.epoch, takeover: begun.takeover, sentMs },
        };
      case 'in-progress': {
        const waitedMs = clock.monotonicMs() - startMs;
        if (o.concurrent === 'error' || waitedMs >= o.waitMs)
          throw new IdempotencyInProgressError(
            key,
            o.concurrent === 'error' ? 0 : waitedMs,
            begun.retryAfterMs,
          );
        if (!waited) o.emit({ kind: 'waiting', key, retryAfterMs: begun.retryAfterMs });
        waited = true;
        const pause = Math.min(o.pollMs, Math.max(begun.retryAfterMs, 1), o.waitMs - waitedMs);
        await o.runtime.timers.sleep(Math.max(pause, 1), o.signal);
        break;
      }
      default:
        assert(false, 'unknown begin result');
    }
  }
}

function replay<T>(o: Resolved<T>, key: string, outcome: StoredOutcome): T {
  if (outcome.kind === 'value') return o.codec.decode(outcome.data);
  const parsed = JSON.parse(outcome.data) as { name?: unknown; message?: unknown; code?: unknown };
  throw new IdempotentFailureError(key, {
    name: String(parsed.name ?? 'Error'),
    message: String(parsed.message ?? ''),
    ...(typeof parsed.code === 'string' ? { code: parsed.code } : {}),
  });
}

function describeError(error: unknown): string {
  const e = error as { name?: unknown; message?: unknown; code?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  return JSON.stringify(code === undefined ? { name, message } : { name, message, code });
}

/** A granted claim on a key (internal: shared with the PostgreSQL multi-phase runner). */
export interface Claim {
  readonly key: string;
  readonly owner: string;
  readonly epoch: number;
  readonly takeover: boolean;
  /** When the `begin` that granted the lease was sent (monotonic): the lease counts from here. */
  readonly sentMs: number;
}

/** Runs `fn` under the claim, then completes, records or forgets the record (all fenced). */
async function execute<T>(
  o: Resolved<T>,
  fn: (context: IdempotentContext) => Promise<T>,
  claim: Claim,
): Promise<IdempotentResult<T>> {
  const { key, owner, epoch } = claim;
  const guard = new LeaseGuard(o, claim);
  const call = (operation: string, f: (c: StoreCallOptions) => Promise<'ok' | 'fenced'>) =>
    storeCall(o.runtime, operation, o.callTimeoutMs, undefined, f);
  let value: T;
  try {
    value = await fn({
      key,
      owner,
      epoch,
      token: BigInt(epoch),
      takeover: claim.takeover,
      signal: guard.signal,
    });
  } catch (error) {
    guard.stop();
    const policy = o.onError(error);
    o.emit({ kind: 'failed', key, epoch, policy });
    if (policy === 'forget') {
      await call('release', (c) => o.store.release(key, owner, epoch, c)).catch(() => undefined);
    } else {
      const outcome: StoredOutcome = { kind: 'error', data: describeError(error) };
      await call('complete', (c) => o.store.complete(key, owner, epoch, outcome, o.ttlMs, c)).catch(
        () => undefined,
      );
    }
    throw error;
  }
  guard.stop();
  const outcome: StoredOutcome = { kind: 'value', data: o.codec.encode(value) };
  const written = await call('complete', (c) =>
    o.store.complete(key, owner, epoch, outcome, o.ttlMs, c),
  );
  if (written === 'fenced') {
    o.emit({ kind: 'fenced', key, epoch, reason: 'taken-over' });
    throw new IdempotencyFencedError(key, epoch, 'taken-over');
  }
  o.emit({ kind: 'completed', key, epoch });
  return { value, replayed: false, epoch };
}

/**
 * The lease of a running invocation on the client: a deadline timer (from the send time of the
 * call that granted or renewed it) that aborts `signal`, and an optional renewal loop.
 */
export class LeaseGuard {
  private readonly controller = new AbortController();
  /** Aborted by `stop()`: ends the renewal loop's sleep and call at once. */
  private readonly halt = new AbortController();
  private readonly unlink: { dispose(): void };
  private cancelDeadline: Cancel | undefined;
  private stopped = false;

  constructor(
    private readonly o: Resolved<unknown>,
    private readonly claim: Claim,
  ) {
    this.unlink = onAbort(o.signal, (reason) => this.controller.abort(reason));
    this.arm(claim.sentMs);
    if (o.renew) void this.renewLoop();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelDeadline?.();
    this.unlink.dispose();
    this.halt.abort();
  }

  private lose(reason: FenceLoss): void {
    if (this.stopped) return;
    this.stop();
    this.o.emit({ kind: 'fenced', key: this.claim.key, epoch: this.claim.epoch, reason });
    this.controller.abort(new IdempotencyFencedError(this.claim.key, this.claim.epoch, reason));
  }

  private arm(sentMs: number): void {
    this.cancelDeadline?.();
    const remaining = sentMs + this.o.leaseMs - this.o.runtime.clock.monotonicMs();
    this.cancelDeadline = this.o.runtime.timers.setTimer(Math.max(remaining, 0), () =>
      this.lose('lease-expired'),
    );
  }

  private async renewLoop(): Promise<void> {
    const { runtime, leaseMs, store, callTimeoutMs } = this.o;
    const { key, owner, epoch } = this.claim;
    while (!this.stopped) {
      try {
        await runtime.timers.sleep(leaseMs / 3, this.halt.signal);
      } catch {
        return;
      }
      if (this.stopped) return;
      const sentMs = runtime.clock.monotonicMs();
      const renewed = await storeCall(runtime, 'extend', callTimeoutMs, this.halt.signal, (c) =>
        store.extend(key, owner, epoch, leaseMs, c),
      ).catch(() => undefined);
      if (renewed === 'ok' && !this.stopped) this.arm(sentMs);
      if (renewed === 'fenced') this.lose('taken-over');
    }
  }
}

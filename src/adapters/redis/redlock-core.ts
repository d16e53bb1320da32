/**
 * Redlock's quorum logic: a lock over N independent instances, granted when a quorum grants it in
 * time. `redlock.ts` builds it over Redis clients.
 *
 * @module
 */
import { abortReason } from '../../core/abort.js';
import { AbortedError } from '../../core/errors.js';
import type { Runtime } from '../../core/runtime.js';
import { systemRuntime } from '../../core/system.js';
import { integerIn, nonNegative, rangeError } from '../../core/validate.js';
import { BackendClosedError, BackendUnavailableError } from '../../coord/errors.js';
import type {
  AcquireResult,
  BackendGuarantees,
  CallOptions,
  ExtendResult,
  Holder,
  LockBackend,
} from '../../coord/types.js';

/**
 * One Redlock instance: a lock backend that can also extend by owner alone and raise a grant's
 * token (the Redis adapter's `RedisLockBackend` is one).
 */
export interface RedlockNode extends LockBackend {
  extendOwner(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult>;
  raiseToken(key: string, owner: string, token: bigint, options: CallOptions): Promise<boolean>;
}

/** Options of the Redis adapter's {@link RedlockBackend} and its quorum engine underneath. */
export interface RedlockOptions {
  /**
   * How many instances must grant (default: a majority, ⌊N/2⌋ + 1). Must be in [⌊N/2⌋ + 1, N]: less
   * than a majority lets two clients hold the lock at once. More tolerates fewer failed instances.
   */
  quorum?: number;
  /**
   * Clock drift allowance as a fraction of the TTL (default 0.01, as in the Redlock description).
   * A grant is valid for `ttl − elapsed − (ttl × driftFactor + driftMarginMs)`; must be in [0, 0.5).
   */
  driftFactor?: number;
  /** Constant drift allowance, in ms (default 2, as in the Redlock description). */
  driftMarginMs?: number;
  /**
   * Monotonic clock for the elapsed time, timers bounding calls to hung instances, and the random
   * retry delay after a split vote (default: the system runtime).
   */
  runtime?: Runtime;
}

/** Upper bound on a `holder()` or `release()` call to one instance, in ms (the caller's signal usually ends it sooner). */
const CALL_BOUND_MS = 30_000;

/**
 * A controller that also aborts when `outer` does (with its reason). Cheaper than
 * `AbortSignal.any`, which costs tens of microseconds per call on Node 20. `abort()` and `unlink()`
 * remove the listener on `outer`.
 */
function linkedController(outer: AbortSignal | undefined): AbortController & { unlink(): void } {
  const controller = new AbortController() as AbortController & { unlink(): void };
  if (outer === undefined) {
    controller.unlink = () => undefined;
    return controller;
  }
  const onAbort = (): void => controller.abort(abortReason(outer));
  controller.unlink = () => outer.removeEventListener('abort', onAbort);
  if (outer.aborted) onAbort();
  else {
    outer.addEventListener('abort', onAbort, { once: true });
    controller.signal.addEventListener('abort', controller.unlink, { once: true });
  }
  return controller;
}

/** Upper bound of the random retry delay after a split vote, in ms. */
const SPLIT_RETRY_MS = 20;

/**
 * The Redlock algorithm over N independent lock instances (the Redis adapter's `RedlockBackend` adds
 * the constructor over Redis clients): it depends on no Redis client or Node built-in, so the lab
 * runs it against simulated instances in the browser too.
 */
export class RedlockQuorumBackend implements LockBackend {
  readonly name: string = 'redlock';
  readonly guarantees: BackendGuarantees = Object.freeze({
    fifo: false,
    durable: false,
    consensus: false,
  });
  /** The number of grants needed. */
  readonly quorum: number;
  private readonly nodes: readonly RedlockNode[];
  private readonly driftFactor: number;
  private readonly driftMarginMs: number;
  private readonly runtime: Runtime;
  private readonly owned: readonly { close(): unknown }[];
  /** Calls still running (their timers bound them); `close()` abandons them so no timer outlives it. */
  private readonly inFlight = new Set<(reason: unknown) => void>();

  /**
   * @param nodes the instances, one per independent Redis server (typically 3 or 5).
   * @param options see {@link RedlockOptions}.
   */
  constructor(
    nodes: readonly RedlockNode[],
    options: RedlockOptions = {},
    owned: readonly { close(): unknown }[] = [],
  ) {
    if (!Array.isArray(nodes) || nodes.length === 0)
      throw rangeError('nodes.length', 'at least 1', nodes.length);
    const n = nodes.length;
    this.quorum = integerIn(
      'quorum',
      options.quorum ?? Math.floor(n / 2) + 1,
      Math.floor(n / 2) + 1,
      n,
    );
    const driftFactor = options.driftFactor ?? 0.01;
    if (!(driftFactor >= 0 && driftFactor < 0.5))
      throw rangeError('driftFactor', 'a number in [0, 0.5)', driftFactor);
    this.driftFactor = driftFactor;
    this.driftMarginMs = nonNegative('driftMarginMs', options.driftMarginMs ?? 2);
    this.runtime = options.runtime ?? systemRuntime();
    this.nodes = [...nodes];
    this.owned = owned;
  }

  /** Validity left of a grant whose requests were sent at `startMs`: `ttl − elapsed − drift`, in ms. */
  validityMs(ttlMs: number, startMs: number): number {
    const elapsed = this.runtime.clock.monotonicMs() - startMs;
    return ttlMs - elapsed - (ttlMs * this.driftFactor + this.driftMarginMs);
  }

  async tryAcquire(
    key: string,
    owner: string,
    ttlMs: number,
    options: CallOptions,
  ): Promise<AcquireResult> {
    const startMs = this.runtime.clock.monotonicMs();
    const n = this.nodes.length;
    const granted = (r: AcquireResult): boolean => r.kind === 'acquired';
    const round = await this.quorumOf(
      (node, o) => node.tryAcquire(key, owner, ttlMs, o),
      granted,
      options.signal,
      ttlMs,
    );
    const tokens: { node: number; token: bigint }[] = [];
    const busy: (number | undefined)[] = [];
    for (const { node, value } of round.answers) {
      if (value.kind === 'acquired') tokens.push({ node, token: value.token });
      else busy.push(value.retryAfterMs);
    }
    let result: AcquireResult | undefined;
    try {
      if (tokens.length >= this.quorum) {
        const token = await this.agreeOnToken(key, owner, tokens, options.signal);
        const valid = token !== undefined && this.validityMs(ttlMs, startMs) > 0;
        result = valid
          ? { kind: 'acquired', token, ttlMs }
          : { kind: 'busy', retryAfterMs: this.splitRetryMs() };
      } else {
        result = this.notGranted(busy, tokens.length, round.failed);
      }
    } finally {
      // Give back partial grants, including ones still in flight (a release queues behind them).
      const partial = tokens.length > 0 || round.answers.length + round.failed < n;
      if (result === undefined || (result.kind === 'busy' && partial))
        this.releaseEverywhere(key, owner);
    }
    return result;
  }

  /** The answer when no quorum granted: `busy` if the others said so, unknown if errors decided it. */
  private notGranted(
    busy: readonly (number | undefined)[],
    granted: number,
    failed: number,
  ): AcquireResult {
    if (busy.length <= this.nodes.length - this.quorum) {
      throw new BackendUnavailableError(
        'tryAcquire',
        `${failed} of ${this.nodes.length} Redlock instances failed`,
      );
    }
    if (granted > 0) return { kind: 'busy', retryAfterMs: this.splitRetryMs() };
    // The lock is free again once a quorum of instances expired it: the quorum-th smallest TTL.
    const known = busy.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    return {
      kind: 'busy',
      retryAfterMs: known.length >= this.quorum ? known[this.quorum - 1] : undefined,
    };
  }

  /**
   * The grant's token: the maximum of the quorum's tokens. Instances that issued less are raised to
   * it until a quorum holds it; answers undefined when that fails.
   */
  private async agreeOnToken(
    key: string,
    owner: string,
    tokens: readonly { node: number; token: bigint }[],
    signal: AbortSignal,
  ): Promise<bigint | undefined> {
    let max = 0n;
    for (const t of tokens) if (t.token > max) max = t.token;
    const atMax = tokens.filter((t) => t.token === max).length;
    if (atMax >= this.quorum) return max;
    const lower = tokens.filter((t) => t.token !== max);
    const raised = await Promise.allSettled(
      lower.map((t) => this.nodeAt(t.node).raiseToken(key, owner, max, { signal })),
    );
    const ok = raised.filter((r) => r.status === 'fulfilled' && r.value).length;
    return atMax + ok >= this.quorum ? max : undefined;
  }

  async extend(
    key: string,
    owner: string,
    _token: bigint,
    ttlMs: number,
    options: CallOptions,
  ): Promise<ExtendResult> {
    const startMs = this.runtime.clock.monotonicMs();
    const ok = (r: ExtendResult): boolean => r.kind === 'extended';
    const round = await this.quorumOf(
      (node, o) => node.extendOwner(key, owner, ttlMs, o),
      ok,
      options.signal,
      ttlMs,
    );
    const results = round.answers.map((a) => a.value);
    if (results.filter(ok).length >= this.quorum) {
      if (this.validityMs(ttlMs, startMs) > 0) return { kind: 'extended', ttlMs };
      throw new BackendUnavailableError('extend', 'the Redlock quorum answered too late');
    }
    const lost = results.filter(
      (r): r is Extract<ExtendResult, { kind: 'lost' }> => r.kind === 'lost',
    );
    if (lost.length > this.nodes.length - this.quorum) {
      return {
        kind: 'lost',
        reason: lost.some((r) => r.reason === 'stolen') ? 'stolen' : 'expired',
      };
    }
    throw new BackendUnavailableError(
      'extend',
      `${round.failed} of ${this.nodes.length} Redlock instances failed`,
    );
  }

  /**
   * Calls every node at once; settles with the answers so far as soon as the `good` answers reach
   * the quorum or can no longer reach it, without waiting for a slow minority.
   */
  private quorumOf<T>(
    call: (node: RedlockNode, options: CallOptions) => Promise<T>,
    good: (value: T) => boolean,
    signal: AbortSignal,
    boundMs: number,
  ): Promise<{ answers: { node: number; value: T }[]; failed: number }> {
    const n = this.nodes.length;
    const answers: { node: number; value: T }[] = [];
    let goodCount = 0;
    let failed = 0;
    return new Promise((resolve) => {
      let done = false;
      const check = (): void => {
        const bad = answers.length - goodCount + failed;
        if (done || (goodCount < this.quorum && n - bad >= this.quorum)) return;
        done = true;
        resolve({ answers: [...answers], failed });
      };
      const bounded = this.boundedSignal(signal, boundMs);
      let pending = n;
      this.nodes.forEach((node, i) => {
        call(node, { signal: bounded.signal })
          .then(
            (value) => {
              answers.push({ node: i, value });
              if (good(value)) goodCount++;
            },
            () => void failed++,
          )
          .finally(() => {
            if (--pending === 0) bounded.dispose();
            check();
          });
      });
    });
  }

  /**
   * Releases on every instance; settles once a quorum answered (a hung minority is not awaited) and
   * throws only when too many failed to know the lock is free.
   */
  async release(key: string, owner: string, options: CallOptions): Promise<void> {
    const round = await this.quorumOf(
      (node, o) => node.release(key, owner, o),
      () => true,
      options.signal,
      CALL_BOUND_MS,
    );
    if (round.failed > this.nodes.length - this.quorum) {
      throw new BackendUnavailableError(
        'release',
        `${round.failed} of ${this.nodes.length} Redlock instances failed`,
      );
    }
  }

  /** Releases on every node in the background (partial or too-late grants); errors are ignored. */
  private releaseEverywhere(key: string, owner: string): void {
    const bounded = this.boundedSignal(undefined, 10_000);
    void Promise.allSettled(
      this.nodes.map((node) => node.release(key, owner, { signal: bounded.signal })),
    ).then(() => bounded.dispose());
  }

  /**
   * The owner holding `key` on at least a quorum of instances, with the highest of their tokens and
   * the quorum-th longest remaining time; `null` when no owner has a quorum among the answers
   * (it answers once a quorum of instances reported a holder, or too few can).
   */
  async holder(key: string, options: CallOptions): Promise<Holder | null> {
    const round = await this.quorumOf(
      (node, o) => node.holder(key, o),
      (h) => h !== null,
      options.signal,
      CALL_BOUND_MS,
    );
    const byOwner = new Map<string, Holder[]>();
    for (const { value: h } of round.answers)
      if (h !== null) byOwner.set(h.owner, [...(byOwner.get(h.owner) ?? []), h]);
    for (const [owner, held] of byOwner) {
      if (held.length < this.quorum) continue;
      const remaining = held.map((h) => h.remainingMs).sort((a, b) => b - a);
      const token = held.reduce((m, h) => (h.token > m ? h.token : m), 0n);
      return { owner, token, remainingMs: remaining[this.quorum - 1] ?? 0 };
    }
    return null;
  }

  /** Resolves when any instance reports a change of `key`; rejects only when all of them fail. */
  waitForChange(key: string, options: CallOptions): Promise<void> {
    const local = linkedController(options.signal);
    const waits = this.nodes.map((node) => node.waitForChange(key, { signal: local.signal }));
    return Promise.any(waits).then(
      () => local.abort(new AbortedError('another instance reported the change')),
      (error: unknown) => {
        local.abort(new AbortedError('wait failed'));
        throw options.signal.aborted
          ? options.signal.reason
          : error instanceof AggregateError
            ? error.errors[0]
            : error;
      },
    );
  }

  /**
   * Abandons calls still waiting on hung instances (and their timers), and closes the instances
   * this backend was given to own (`RedlockBackend.fromClients` passes the instances it created).
   */
  async close(): Promise<void> {
    for (const abandon of [...this.inFlight]) abandon(new BackendClosedError('redlock', 'call'));
    await Promise.all(this.owned.map((o) => o.close()));
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * After a split vote (some instances granted, too few), contenders that retried at the same
   * moment could split again: a random delay up to {@link SPLIT_RETRY_MS} breaks the symmetry, as
   * the Redlock description asks.
   */
  private splitRetryMs(): number {
    return this.runtime.random.int(SPLIT_RETRY_MS + 1);
  }

  private nodeAt(i: number): RedlockNode {
    const node = this.nodes[i];
    if (node === undefined) throw new RangeError(`no Redlock node ${i}`);
    return node;
  }

  /**
   * A signal that aborts with `outer` or after `ms`, so a call to a hung instance (one the quorum
   * did not need) is abandoned after the grant would have expired anyway.
   */
  private boundedSignal(
    outer: AbortSignal | undefined,
    ms: number,
  ): { signal: AbortSignal; dispose(): void } {
    const controller = linkedController(outer);
    const dispose = (): void => {
      cancel();
      controller.unlink();
      this.inFlight.delete(abandon);
    };
    const abandon = (reason: unknown): void => {
      dispose();
      controller.abort(reason);
    };
    const cancel = this.runtime.timers.setTimer(ms, () =>
      abandon(new BackendUnavailableError('redlock', `no answer within ${ms} ms`)),
    );
    this.inFlight.add(abandon);
    return { signal: controller.signal, dispose };
  }
}

/**
 * An etcd session: one lease, kept alive by this process, that many lock keys are attached to (as
 * etcd's Go `concurrency.Session` does). When the lease ends every key on it is deleted by the
 * server, so every lock held through the session is lost at once.
 *
 * @module
 */
import type { Etcd3, ILeaseKeepAliveResponse } from 'etcd3';
import { raceAbort } from '../../core/abort.js';
import { AbortedError, FaultlineError } from '../../core/errors.js';
import type { Cancel, Runtime } from '../../core/runtime.js';
import type { LossReason } from '../../coord/errors.js';

/** The session's lease ended (server said so) or could not be renewed before its local deadline. */
export class EtcdSessionLostError extends FaultlineError {
  override name = 'EtcdSessionLostError';
  /** `expired` when etcd answered that the lease is gone, `unreachable` when renewals kept failing. */
  readonly reason: Exclude<LossReason, 'stolen'>;
  /** The lease id (decimal string). */
  readonly leaseId: string;

  constructor(
    leaseId: string,
    reason: Exclude<LossReason, 'stolen'>,
    options?: { cause?: unknown },
  ) {
    super('FAULTLINE_ETCD_SESSION_LOST', `etcd session lease ${leaseId} lost: ${reason}`, options);
    this.reason = reason;
    this.leaseId = leaseId;
  }
}

/** True when `e` is an {@link EtcdSessionLostError}. */
export function isEtcdSessionLostError(e: unknown): e is EtcdSessionLostError {
  return e instanceof EtcdSessionLostError;
}

/** What {@link EtcdSession.grant} needs. */
export interface EtcdSessionInit {
  readonly client: Etcd3;
  readonly runtime: Runtime;
  /** Requested lease TTL in ms; etcd grants whole seconds (rounded up, raised to its minimum). */
  readonly ttlMs: number;
  /** Called once when the session is lost (not when it is closed). */
  readonly onLost?: (error: EtcdSessionLostError) => void;
}

/**
 * One etcd lease kept alive every `ttl / 3` by a loop on the runtime's timers.
 *
 * Why not etcd3's own keep-alive: it runs on the global timers (invisible to the simulator), and it
 * reports a loss only after twice the TTL without an answer, long after the server may have expired
 * the lease. This loop measures from each renewal's send time instead: the lease is trusted until
 * `send time + granted TTL`, which is never after the server's expiry (the server renews later than
 * we send), and the session is declared `unreachable` as soon as that instant passes unrenewed.
 */
export class EtcdSession {
  /** The lease id (decimal string, as etcd3 reports it). */
  readonly leaseId: string;
  /** The TTL etcd granted, in ms (whole seconds). */
  readonly ttlMs: number;
  /** Aborts with an {@link EtcdSessionLostError} when the lease is lost, or an `AbortedError` on close. */
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly init: EtcdSessionInit;
  /** Local monotonic instant until which the lease surely exists on the server. */
  private trustedUntilMs: number;
  private cancelTick: Cancel = () => undefined;
  private cancelDeadline: Cancel = () => undefined;
  private closed = false;

  private constructor(init: EtcdSessionInit, leaseId: string, ttlMs: number, sentAtMs: number) {
    this.init = init;
    this.leaseId = leaseId;
    this.ttlMs = ttlMs;
    this.signal = this.controller.signal;
    this.trustedUntilMs = sentAtMs + ttlMs;
    this.armDeadline();
    this.scheduleTick(ttlMs / 3);
  }

  /** Grants a lease and starts its keep-alive loop. */
  static async grant(init: EtcdSessionInit, signal?: AbortSignal): Promise<EtcdSession> {
    const sentAtMs = init.runtime.clock.monotonicMs();
    const pending = init.client.leaseClient.leaseGrant({
      TTL: Math.max(1, Math.ceil(init.ttlMs / 1000)),
    });
    const res = await raceAbort(pending, signal).catch((error: unknown) => {
      // A grant that lands after the abort expires by its TTL; revoke it early when it does.
      pending
        .then(
          (late) => init.client.leaseClient.leaseRevoke({ ID: late.ID }),
          () => undefined,
        )
        .catch(() => undefined);
      throw error;
    });
    if (res.error !== '' && res.error !== undefined)
      throw new Error(`etcd lease grant failed: ${res.error}`);
    return new EtcdSession(init, res.ID, Number(res.TTL) * 1000, sentAtMs);
  }

  /** False once the session was lost or closed. */
  get alive(): boolean {
    this.checkDeadline();
    return !this.signal.aborted;
  }

  /**
   * Milliseconds from `fromMs` (a monotonic instant) until which the lease surely still exists on
   * the server (0 when it may not). Deadlines computed from it need no further drift allowance
   * beyond the caller's own.
   */
  trustedFor(fromMs: number): number {
    return Math.max(0, this.trustedUntilMs - fromMs);
  }

  /**
   * Renews the lease now. Resolves with the TTL etcd applied (ms, counted from after the send),
   * throws {@link EtcdSessionLostError} when the lease is gone, or the transport error.
   */
  async renew(signal?: AbortSignal): Promise<number> {
    if (this.signal.aborted) throw this.signal.reason;
    const sentAtMs = this.init.runtime.clock.monotonicMs();
    const res = await keepAliveOnce(
      this.init.client,
      this.leaseId,
      this.init.runtime,
      this.ttlMs / 3,
      signal,
    );
    const ttlMs = Number(res.TTL) * 1000;
    if (!(ttlMs > 0)) {
      this.lose('expired');
      throw this.signal.reason;
    }
    if (!this.signal.aborted) {
      this.trustedUntilMs = Math.max(this.trustedUntilMs, sentAtMs + ttlMs);
      this.armDeadline();
    }
    return ttlMs;
  }

  /** Marks the session lost (`expired`) because etcd answered that its lease no longer exists. */
  markExpired(): void {
    this.lose('expired');
  }

  /** Stops the loop and revokes the lease (best effort, bounded by `timeoutMs`): its keys go at once. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    if (this.signal.aborted) return;
    this.controller.abort(new AbortedError('the etcd session was closed'));
    const bound = new AbortController();
    const cancel = this.init.runtime.timers.setTimer(timeoutMs, () =>
      bound.abort(new Error('revoke timed out')),
    );
    try {
      await raceAbort(this.init.client.leaseClient.leaseRevoke({ ID: this.leaseId }), bound.signal);
    } catch {
      // The lease then expires by its TTL.
    } finally {
      cancel();
    }
  }

  /** `await using session = await EtcdSession.grant(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private scheduleTick(ms: number): void {
    this.cancelTick();
    this.cancelTick = this.init.runtime.timers.setTimer(ms, () => this.tick());
  }

  private tick(): void {
    if (this.signal.aborted) return;
    this.renew().then(
      () => this.scheduleTick(this.ttlMs / 3),
      () => {
        // Retry faster after a failure; the deadline timer decides when it is too late.
        if (!this.signal.aborted) this.scheduleTick(Math.max(50, this.ttlMs / 10));
      },
    );
  }

  private armDeadline(): void {
    this.cancelDeadline();
    const delay = Math.max(0, this.trustedUntilMs - this.init.runtime.clock.monotonicMs());
    this.cancelDeadline = this.init.runtime.timers.setTimer(delay, () => {
      this.checkDeadline();
      // A timer that fired a little early re-arms itself.
      if (!this.signal.aborted) this.armDeadline();
    });
  }

  /** Synchronous check, so a process resuming from a pause sees the loss before its timers run. */
  private checkDeadline(): void {
    if (this.signal.aborted) return;
    const now = this.init.runtime.clock.monotonicMs();
    if (now >= this.trustedUntilMs) this.lose('unreachable');
  }

  private lose(reason: Exclude<LossReason, 'stolen'>): void {
    if (this.signal.aborted) return;
    const error = new EtcdSessionLostError(this.leaseId, reason);
    this.stopTimers();
    this.controller.abort(error);
    // Nobody may rely on the keys any more: free them now rather than at the server's expiry.
    if (reason === 'unreachable') {
      this.init.client.leaseClient.leaseRevoke({ ID: this.leaseId }).catch(() => undefined);
    }
    try {
      this.init.onLost?.(error);
    } catch {
      // A listener's failure must not break the loss path.
    }
  }

  private stopTimers(): void {
    this.cancelTick();
    this.cancelDeadline();
  }
}

/**
 * One keep-alive round trip on a fresh stream (etcd answers each request on the stream it came on).
 * Bounded by `timeoutMs` and `signal`; the stream is always closed.
 */
export function keepAliveOnce(
  client: Etcd3,
  leaseId: string,
  runtime: Runtime,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ILeaseKeepAliveResponse> {
  const bound = new AbortController();
  const cancel = runtime.timers.setTimer(timeoutMs, () =>
    bound.abort(new Error(`etcd keep-alive timed out after ${timeoutMs} ms`)),
  );
  const combined = signal === undefined ? bound.signal : AbortSignal.any([signal, bound.signal]);
  const work = client.leaseClient.leaseKeepAlive().then(
    (stream) =>
      new Promise<ILeaseKeepAliveResponse>((resolve, reject) => {
        const finish = (): void => {
          try {
            stream.end();
          } catch {
            // Already closed.
          }
        };
        stream.on('data', (res) => {
          finish();
          resolve(res);
        });
        stream.on('error', (err) => {
          finish();
          reject(err);
        });
        combined.addEventListener(
          'abort',
          () => {
            try {
              stream.cancel();
            } catch {
              // Already closed.
            }
          },
          { once: true },
        );
        stream.write({ ID: leaseId });
      }),
  );
  return raceAbort(work, combined).finally(cancel);
}

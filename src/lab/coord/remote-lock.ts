/**
 * A lock service on a simulated node: the production {@link MemoryLockBackend} runs on the server
 * node (its runtime is the server's clock and timers), and clients reach it over the simulated
 * network through {@link RemoteLockBackend}, a small RPC shim that implements the `LockBackend`
 * SPI with the client node's transport. Every SPI call is one request message and one reply
 * message, so the network's latency, loss and the nodes' pauses apply to it.
 *
 * The shim is a lab stand-in for a network client of a lock server (what the Redis or etcd adapters
 * are for their servers); the lock logic on both sides is faultline's.
 *
 * @module
 */
import { abortReason } from '../../core/abort.js';
import { BackendUnavailableError } from '../../coord/errors.js';
import type {
  AcquireResult,
  CallOptions,
  ExtendResult,
  Holder,
  LockBackend,
} from '../../coord/types.js';
import type { RedlockNode } from '../../adapters/redis/redlock-core.js';
import type { Envelope, Node } from '../../sim/node.js';

/** One SPI call, as a message to the lock server. */
type LockCall =
  | {
      readonly op: 'tryAcquire';
      readonly key: string;
      readonly owner: string;
      readonly ttlMs: number;
    }
  | {
      readonly op: 'acquireQueued';
      readonly key: string;
      readonly owner: string;
      readonly ttlMs: number;
    }
  | {
      readonly op: 'extend';
      readonly key: string;
      readonly owner: string;
      readonly token: bigint;
      readonly ttlMs: number;
    }
  | {
      readonly op: 'extendOwner';
      readonly key: string;
      readonly owner: string;
      readonly ttlMs: number;
    }
  | {
      readonly op: 'raiseToken';
      readonly key: string;
      readonly owner: string;
      readonly token: bigint;
    }
  | { readonly op: 'release'; readonly key: string; readonly owner: string }
  | { readonly op: 'holder'; readonly key: string }
  | { readonly op: 'waitForChange'; readonly key: string };

interface LockRequest {
  readonly kind: 'lock-request';
  readonly id: number;
  readonly call: LockCall;
}

interface LockCancel {
  readonly kind: 'lock-cancel';
  readonly id: number;
}

interface LockReply {
  readonly kind: 'lock-reply';
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

type LockMessage = LockRequest | LockCancel | LockReply;

function isLockMessage(payload: unknown): payload is LockMessage {
  if (typeof payload !== 'object' || payload === null) return false;
  const kind = (payload as { kind?: unknown }).kind;
  return kind === 'lock-request' || kind === 'lock-cancel' || kind === 'lock-reply';
}

/** What the server applied, for a checker that keeps the server's truth. */
export interface AppliedCall {
  readonly from: string;
  readonly call: LockCall;
  readonly result: unknown;
}

/**
 * Serves `backend` on `node`: every request runs on the server as it arrives; its reply goes back
 * to the caller. `onApplied` sees each call the server completed, at the virtual time it completed
 * (a checker records the server's truth there). In-flight calls (a queued acquire, a wait) are
 * bounded by the client's cancel messages and by `maxInFlight`.
 */
export function serveLocks(
  node: Node,
  backend: LockBackend | RedlockNode,
  onApplied?: (applied: AppliedCall) => void,
  maxInFlight = 1_000,
): void {
  const inFlight = new Map<string, AbortController>();
  node.onMessage((message: Envelope) => {
    const payload = message.payload;
    if (!isLockMessage(payload)) return;
    const key = `${message.from}#${payload.id}`;
    if (payload.kind === 'lock-cancel') {
      inFlight.get(key)?.abort(new BackendUnavailableError('remote', 'the client gave up'));
      return;
    }
    if (payload.kind !== 'lock-request' || inFlight.has(key)) return;
    const reply = (ok: boolean, value: unknown, error?: string): void => {
      inFlight.delete(key);
      const answer: LockReply = { kind: 'lock-reply', id: payload.id, ok, value };
      node.send(message.from, error === undefined ? answer : { ...answer, error });
    };
    if (inFlight.size >= maxInFlight) {
      reply(false, undefined, 'too many calls in flight');
      return;
    }
    const controller = new AbortController();
    inFlight.set(key, controller);
    const { call } = payload;
    run(backend, call, { signal: controller.signal }).then(
      (result) => {
        onApplied?.({ from: message.from, call, result });
        reply(true, result);
      },
      (error: unknown) => reply(false, undefined, String(error)),
    );
  });
}

function run(backend: LockBackend | RedlockNode, call: LockCall, o: CallOptions): Promise<unknown> {
  switch (call.op) {
    case 'tryAcquire':
      return backend.tryAcquire(call.key, call.owner, call.ttlMs, o);
    case 'acquireQueued':
      if (backend.acquireQueued === undefined)
        return Promise.reject(new Error('no queued acquire'));
      return backend.acquireQueued(call.key, call.owner, call.ttlMs, o);
    case 'extend':
      return backend.extend(call.key, call.owner, call.token, call.ttlMs, o);
    case 'extendOwner':
      if (!('extendOwner' in backend)) return Promise.reject(new Error('not a Redlock instance'));
      return backend.extendOwner(call.key, call.owner, call.ttlMs, o);
    case 'raiseToken':
      if (!('raiseToken' in backend)) return Promise.reject(new Error('not a Redlock instance'));
      return backend.raiseToken(call.key, call.owner, call.token, o);
    case 'release':
      return backend.release(call.key, call.owner, o);
    case 'holder':
      return backend.holder(call.key, o);
    case 'waitForChange':
      return backend.waitForChange(call.key, o);
  }
}

/**
 * The client side: a `LockBackend` whose every call is a request to `server` sent from `node`'s
 * current incarnation. A call settles when its reply arrives (handled on the client node, so a
 * paused client sees it only after the pause) or rejects at once when its signal aborts (the
 * server is then told to stop waiting). An error on the server arrives as
 * {@link BackendUnavailableError}: the outcome is unknown to the client.
 */
export class RemoteLockBackend implements RedlockNode {
  readonly name = 'remote-memory';
  readonly guarantees = Object.freeze({ fifo: true, durable: false, consensus: false });
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: unknown) => void }
  >();
  private nextId = 1;

  constructor(
    private readonly node: Node,
    private readonly server: string,
  ) {
    node.onMessage((message: Envelope) => {
      const payload = message.payload;
      if (message.from !== server || !isLockMessage(payload) || payload.kind !== 'lock-reply')
        return;
      const waiter = this.pending.get(payload.id);
      if (waiter === undefined) return;
      this.pending.delete(payload.id);
      if (payload.ok) waiter.resolve(payload.value);
      else waiter.reject(new BackendUnavailableError('remote', payload.error ?? 'failed'));
    });
  }

  private call<T>(call: LockCall, o: CallOptions): Promise<T> {
    if (o.signal.aborted) return Promise.reject(abortReason(o.signal));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.pending.delete(id)) return;
        this.node.send(this.server, { kind: 'lock-cancel', id } satisfies LockCancel);
        reject(abortReason(o.signal));
      };
      this.pending.set(id, {
        resolve: (value) => {
          o.signal.removeEventListener('abort', onAbort);
          resolve(value as T);
        },
        reject: (error) => {
          o.signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      o.signal.addEventListener('abort', onAbort, { once: true });
      this.node.send(this.server, { kind: 'lock-request', id, call } satisfies LockRequest);
    });
  }

  tryAcquire(key: string, owner: string, ttlMs: number, o: CallOptions): Promise<AcquireResult> {
    return this.call({ op: 'tryAcquire', key, owner, ttlMs }, o);
  }

  acquireQueued(key: string, owner: string, ttlMs: number, o: CallOptions): Promise<AcquireResult> {
    return this.call({ op: 'acquireQueued', key, owner, ttlMs }, o);
  }

  extend(
    key: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    o: CallOptions,
  ): Promise<ExtendResult> {
    return this.call({ op: 'extend', key, owner, token, ttlMs }, o);
  }

  release(key: string, owner: string, o: CallOptions): Promise<void> {
    return this.call({ op: 'release', key, owner }, o);
  }

  /** Redlock's extend by owner alone (the server must be a Redlock instance). */
  extendOwner(key: string, owner: string, ttlMs: number, o: CallOptions): Promise<ExtendResult> {
    return this.call({ op: 'extendOwner', key, owner, ttlMs }, o);
  }

  /** Redlock's second phase: raise a grant's token (the server must be a Redlock instance). */
  raiseToken(key: string, owner: string, token: bigint, o: CallOptions): Promise<boolean> {
    return this.call({ op: 'raiseToken', key, owner, token }, o);
  }

  holder(key: string, o: CallOptions): Promise<Holder | null> {
    return this.call({ op: 'holder', key }, o);
  }

  waitForChange(key: string, o: CallOptions): Promise<void> {
    return this.call({ op: 'waitForChange', key }, o);
  }
}

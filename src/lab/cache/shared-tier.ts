/**
 * A stand-in for Redis on a simulated node: the cache values with a TTL on the server's clock, the
 * fenced write and pub/sub of {@link RemoteTier}, and a plain `SET NX PX` / `DEL` for the textbook
 * lock. Clients reach it over the simulated network; the cache logic on the clients is faultline's
 * {@link TieredCache}.
 *
 * @module
 */
import type { RemoteHit, RemoteMessage, RemoteTier } from '../../cache/tiered.js';
import type { Disposable } from '../../core/events.js';
import { disposable } from '../../core/events.js';
import type { Node } from '../../sim/node.js';
import { RpcClient, serve } from '../resilience/rpc.js';

type TierCall =
  | { readonly op: 'get'; readonly key: string }
  | {
      readonly op: 'set';
      readonly key: string;
      readonly value: string;
      /** Absent for an unfenced write. */
      readonly token: bigint | undefined;
      readonly ttlMs: number;
      readonly from: string;
    }
  | { readonly op: 'delete'; readonly key: string; readonly from: string }
  | { readonly op: 'setnx'; readonly key: string; readonly ttlMs: number }
  | { readonly op: 'del'; readonly key: string }
  | { readonly op: 'subscribe' };

interface Published {
  readonly published: RemoteMessage;
}

function isPublished(payload: unknown): payload is Published {
  return typeof payload === 'object' && payload !== null && 'published' in payload;
}

/** Serves the shared tier on `node`. */
export function serveSharedTier(node: Node): void {
  const clock = node.runtime.clock;
  const values = new Map<string, { value: string; expiresAtMs: number }>();
  const fences = new Map<string, bigint>();
  const subscribers = new Set<string>();
  const live = (key: string) => {
    const v = values.get(key);
    if (v !== undefined && clock.monotonicMs() >= v.expiresAtMs) values.delete(key);
    return values.get(key);
  };
  const publish = (published: RemoteMessage): void => {
    for (const s of subscribers) node.send(s, { published } satisfies Published);
  };
  serve(node, (body, from) => {
    const call = body as TierCall;
    switch (call.op) {
      case 'get': {
        const v = live(call.key);
        if (v === undefined) return null;
        const hit = { value: v.value, remainingMs: v.expiresAtMs - clock.monotonicMs() };
        const token = fences.get(call.key);
        return token === undefined ? hit : { ...hit, token };
      }
      case 'set': {
        const newest = fences.get(call.key) ?? 0n;
        if (call.token !== undefined && call.token < newest) return false;
        if (call.token !== undefined) fences.set(call.key, call.token);
        values.set(call.key, { value: call.value, expiresAtMs: clock.monotonicMs() + call.ttlMs });
        const set = { kind: 'set', key: call.key, from: call.from } as const;
        publish(call.token === undefined ? set : { ...set, token: call.token });
        return true;
      }
      case 'delete':
        values.delete(call.key);
        publish({ kind: 'delete', key: call.key, from: call.from });
        return true;
      case 'setnx':
        if (live(call.key) !== undefined) return false;
        values.set(call.key, { value: 'locked', expiresAtMs: clock.monotonicMs() + call.ttlMs });
        return true;
      case 'del':
        values.delete(call.key);
        return true;
      case 'subscribe':
        subscribers.add(from);
        return true;
    }
  });
}

/** The client of the shared tier on an app node. */
export class SharedTierClient implements RemoteTier<string> {
  private readonly rpc: RpcClient;

  /** @param fenced `false` makes writes unconditional (the per-process-locking design). */
  constructor(
    private readonly node: Node,
    private readonly server: string,
    private readonly fenced = true,
  ) {
    this.rpc = new RpcClient(node);
  }

  async get(key: string, signal?: AbortSignal): Promise<RemoteHit<string> | undefined> {
    const reply = (await this.rpc.call(
      this.server,
      { op: 'get', key } satisfies TierCall,
      signal,
    )) as RemoteHit<string> | null;
    return reply ?? undefined;
  }

  async setFenced(
    key: string,
    value: string,
    token: bigint,
    ttlMs: number,
    from: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const call: TierCall = {
      op: 'set',
      key,
      value,
      token: this.fenced ? token : undefined,
      ttlMs,
      from,
    };
    return (await this.rpc.call(this.server, call, signal)) as boolean;
  }

  async delete(key: string, from: string, signal?: AbortSignal): Promise<void> {
    await this.rpc.call(this.server, { op: 'delete', key, from } satisfies TierCall, signal);
  }

  async subscribe(listener: (message: RemoteMessage) => void): Promise<Disposable> {
    const sub = this.node.onMessage((m) => {
      if (m.from === this.server && isPublished(m.payload)) listener(m.payload.published);
    });
    await this.rpc.call(this.server, { op: 'subscribe' } satisfies TierCall);
    return disposable(() => sub.dispose());
  }

  /** `SET key locked NX PX ttlMs`: true when set. */
  async setNx(key: string, ttlMs: number): Promise<boolean> {
    return (await this.rpc.call(this.server, {
      op: 'setnx',
      key,
      ttlMs,
    } satisfies TierCall)) as boolean;
  }

  /** `DEL key`, unconditionally. */
  async del(key: string): Promise<void> {
    await this.rpc.call(this.server, { op: 'del', key } satisfies TierCall);
  }
}

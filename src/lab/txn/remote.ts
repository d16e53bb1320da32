/**
 * The coordinator's side of the lab's two-phase commit: a {@link Participant} that reaches a
 * simulated resource manager over the RPC shim, and decision logs on the coordinator's simulated
 * disk (durable: written and synced before phase 2) or in its memory (the broken design).
 *
 * @module
 */
import type { Node } from '../../sim/node.js';
import type { Branch, DecisionLog, Participant } from '../../txn/types.js';
import type { RpcClient } from '../resilience/rpc.js';
import type { ResourceRequest } from './resource.js';

/** A resource manager on node `name`, whose branch in every transaction adds `delta`. */
export class RemoteParticipant implements Participant {
  constructor(
    readonly name: string,
    private readonly rpc: RpcClient,
    private readonly delta: number,
  ) {}

  private call(request: ResourceRequest, signal: AbortSignal): Promise<unknown> {
    return this.rpc.call(this.name, request, signal);
  }

  async begin(gid: string, signal: AbortSignal): Promise<Branch> {
    await this.call({ op: 'begin', gid, delta: this.delta }, signal);
    return {
      prepare: async (s) => {
        await this.call({ op: 'prepare', gid }, s);
      },
      // Fire and forget: a lost rollback leaves a volatile branch the resource manager drops when
      // the next transaction's prepare finds it is not the active one.
      abort: () => {
        this.rpc.call(this.name, { op: 'rollback', gid }).catch(() => undefined);
        return Promise.resolve();
      },
    };
  }

  async commitPrepared(gid: string, signal: AbortSignal): Promise<void> {
    await this.call({ op: 'commit', gid }, signal);
  }

  async rollbackPrepared(gid: string, signal: AbortSignal): Promise<void> {
    await this.call({ op: 'rollback', gid }, signal);
  }

  async listPrepared(prefix: string, signal: AbortSignal): Promise<string[]> {
    return (await this.call({ op: 'list', prefix }, signal)) as string[];
  }
}

const DECISION = 'decision/';

/** The durable decision log: a record on the coordinator's disk, synced before phase 2. */
export class DiskDecisionLog implements DecisionLog {
  constructor(private readonly node: Node) {}

  async recordCommit(gid: string): Promise<void> {
    this.node.disk.write(DECISION + gid, 'commit');
    await this.node.disk.sync();
  }

  committed(prefix: string): Promise<string[]> {
    const keys = this.node.disk.keys().filter((k) => k.startsWith(DECISION + prefix));
    return Promise.resolve(keys.map((k) => k.slice(DECISION.length)));
  }

  async forget(gid: string): Promise<void> {
    this.node.disk.delete(DECISION + gid);
    await this.node.disk.sync();
  }
}

/**
 * The broken design: the decision lives only in the coordinator's memory, so a restarted
 * coordinator has forgotten it and presumes abort for branches another participant committed.
 */
export class VolatileDecisionLog implements DecisionLog {
  private readonly decided = new Set<string>();

  recordCommit(gid: string): Promise<void> {
    this.decided.add(gid);
    return Promise.resolve();
  }

  committed(prefix: string): Promise<string[]> {
    return Promise.resolve([...this.decided].filter((g) => g.startsWith(prefix)));
  }

  forget(gid: string): Promise<void> {
    this.decided.delete(gid);
    return Promise.resolve();
  }
}

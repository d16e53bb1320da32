/**
 * A tiny request/response layer over a simulated node's transport, shared by the lab's
 * resilience scenarios: a client that awaits a reply (and gives up when its signal aborts) and a
 * server loop that answers each request with what its handler returned or threw. It is the lab's
 * stand-in for an HTTP client and server; the resilience policies wrap it like they wrap `fetch`.
 *
 * @module
 */
import { abortReason } from '../../core/abort.js';
import { FaultlineError } from '../../core/errors.js';
import { integerIn } from '../../core/validate.js';
import type { Envelope, Node } from '../../sim/node.js';

/** A request on the wire. */
export interface RpcRequest {
  readonly rpc: 'request';
  readonly id: number;
  readonly body: unknown;
}

/** The answer to the request with the same id. */
export interface RpcResponse {
  readonly rpc: 'response';
  readonly id: number;
  /** False when the server refused or failed the request; `body` is then the reason. */
  readonly ok: boolean;
  readonly body: unknown;
}

type RpcMessage = RpcRequest | RpcResponse;

/** The server answered with a refusal (overloaded, dependency down, ...). */
export class RpcRefusedError extends FaultlineError {
  override name = 'RpcRefusedError';
  constructor(
    readonly server: string,
    readonly reason: string,
  ) {
    super('FAULTLINE_LAB_RPC_REFUSED', `${server} refused the request: ${reason}`);
  }
}

/**
 * What a handler returns to refuse a request without building an `Error` (a server that sheds
 * load refuses cheaply; a stack trace per refusal would dominate the run).
 */
export class Refusal {
  constructor(readonly reason: string) {}
}

/** True when `e` is an {@link RpcRefusedError}. */
export function isRpcRefusedError(e: unknown): e is RpcRefusedError {
  return e instanceof RpcRefusedError;
}

/**
 * Sends requests from `node` and matches replies by id.
 *
 * @example
 * const rpc = new RpcClient(node);
 * const value = await rpc.call('server', { key: 'x' }, signal);
 */
export class RpcClient {
  private readonly node: Node;
  private readonly maxPending: number;
  private readonly pending = new Map<number, (response: RpcResponse) => void>();
  /**
   * One refusal error per server and reason, reused: a shedding server refuses hundreds of
   * requests a run, and a stack trace per refusal would dominate the run's cost.
   */
  private readonly refusals = new Map<string, RpcRefusedError>();
  private nextId = 1;

  constructor(node: Node, options: { maxPending?: number } = {}) {
    this.node = node;
    this.maxPending = integerIn('maxPending', options.maxPending ?? 10_000, 1, 1_000_000);
    node.onMessage<RpcMessage>((m) => {
      if (m.payload.rpc === 'response') this.pending.get(m.payload.id)?.(m.payload);
    });
  }

  /** Requests waiting for a reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends `body` to `to` and resolves with the reply's body; rejects with an
   * {@link RpcRefusedError} when the server refused, or with the signal's reason when it aborts
   * first (a late reply is then ignored).
   */
  call(to: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.pending.size >= this.maxPending) {
      return Promise.reject(new RangeError(`pending requests must be at most ${this.maxPending}`));
    }
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = (): void => {
        this.pending.delete(id);
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, (response) => {
        this.pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
        if (response.ok) resolve(response.body);
        else reject(this.refusal(to, String(response.body)));
      });
      const request: RpcRequest = { rpc: 'request', id, body };
      this.node.send(to, request);
    });
  }

  private refusal(server: string, reason: string): RpcRefusedError {
    const key = `${server}\u0000${reason}`;
    let error = this.refusals.get(key);
    if (error === undefined) {
      error = new RpcRefusedError(server, reason);
      if (this.refusals.size < 1_000) this.refusals.set(key, error);
    }
    return error;
  }
}

/**
 * Answers requests arriving at `node` with `handler`: its value is sent back as a success, a
 * {@link Refusal} or an error's message as a refusal. A handler that never settles never answers
 * (a hung server).
 */
export function serve(node: Node, handler: (body: unknown, from: string) => unknown): void {
  node.onMessage<RpcMessage>((m: Envelope<RpcMessage>) => {
    const request = m.payload;
    if (request.rpc !== 'request') return;
    const reply = (ok: boolean, body: unknown): void => {
      const response: RpcResponse = { rpc: 'response', id: request.id, ok, body };
      node.send(m.from, response);
    };
    let result: unknown;
    try {
      result = handler(request.body, m.from);
    } catch (error) {
      reply(false, reasonOf(error));
      return;
    }
    if (result instanceof Refusal) {
      reply(false, result.reason);
    } else if (result instanceof Promise) {
      result.then(
        (value: unknown) =>
          value instanceof Refusal ? reply(false, value.reason) : reply(true, value),
        (error: unknown) => reply(false, reasonOf(error)),
      );
    } else {
      reply(true, result);
    }
  });
}

function reasonOf(error: unknown): string {
  if (error instanceof RpcRefusedError) return error.reason;
  return error instanceof Error ? error.message : String(error);
}

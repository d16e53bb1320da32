/**
 * The replicated key-value store as a real service: one {@link RaftNode} per process, driven by
 * the runtime's timers, talking to its peers over TCP ({@link RaftTransport}), with its log and
 * hard state in a directory ({@link RaftDisk}), and an HTTP JSON API for clients.
 *
 * The Ready loop persists each batch with one append and one `fdatasync` before sending the
 * messages that depend on it (votes, acknowledgements); proposals and messages that arrive while
 * a sync runs are batched into the next one. A batch whose only change is a higher commit index
 * is written without a sync (the commit index is a hint; losing it loses nothing), and committed
 * entries, durable already, apply while the batch syncs. A leader sends its appends to followers while its
 * own write is in flight (thesis §10.2.1): it counts itself towards a commit only once the write
 * is durable, so this is safe and takes one fsync off the commit path.
 *
 * HTTP API (JSON bodies, JSON answers):
 * - `GET /kv/<key>` → `{"value": "..."}`: a linearizable read by ReadIndex, served by any member
 *   (a follower asks the leader for the read index, waits to apply it, answers locally).
 * - `PUT /kv/<key>` `{"value": "..."}` → `{"value": "..."}`.
 * - `POST /kv/<key>` `{"op": "append", "value": "..."}` → `{"value": <after>}`.
 * - `POST /kv/<key>` `{"op": "cas", "from": "...", "to": "..."}` → `{"swapped": bool, "value": ...}`.
 * - Writes may carry `"client"` and `"seq"` (a session, thesis §6.3): a retried write with the
 *   same pair applies once. Writes go to the leader: any other member answers `307` with
 *   `Location` on the leader (a redirect, not a proxy).
 * - `GET /status` → role, leader, term, indexes and counters.
 * - Errors: `{"error": code, "message": ...}`; `503` means the write certainly did not apply
 *   (no leader, overloaded, overwritten by another leader's entry), `504` that its outcome is
 *   unknown (timed out), `400`/`404`/`405`/`409`/`413` bad requests.
 *
 * @module
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Cancel, Runtime } from '../../core/runtime.js';
import { systemRuntime } from '../../core/system.js';
import { integerIn, nonEmptyString, rangeError } from '../../core/validate.js';
import { RaftDisk } from './disk.js';
import { KvStateMachine } from './kv.js';
import type { KvCommand, KvImage, KvOp } from './kv.js';
import type { RaftOptions } from './options.js';
import { RaftNode } from './raft.js';
import { RaftTransport } from './transport.js';
import type { PeerAddress, TransportCounters } from './transport.js';
import type { Entry, RaftId, RaftMessage, Ready, Role } from './types.js';
import { MAX_ID_LENGTH, RaftWireError, parseKvCommand } from './wire.js';

/** Options of {@link RaftServer.start}. */
export interface RaftServerOptions {
  /** This member's id; must be a key of `peers`. */
  readonly id: RaftId;
  /** Every member (this one included) and the address its Raft TCP port listens on. */
  readonly peers: ReadonlyMap<RaftId, PeerAddress>;
  /** Where the log, hard state and snapshot live (created if missing). */
  readonly dataDir: string;
  /** The HTTP API's port (0: any free port; see {@link RaftServer.httpPort}). */
  readonly httpPort: number;
  /** The HTTP API's address (default: the host of this member's peer address). */
  readonly httpHost?: string;
  /**
   * Ms per Raft tick (default 10). With the default 5 heartbeat and 50 election ticks this gives
   * 50 ms heartbeats and 500-1,000 ms election timeouts, as the test harness's etcd uses.
   */
  readonly tickMs?: number;
  /** Raft options (default `electionTicks` 50, `heartbeatTicks` 5). */
  readonly raft?: Partial<Omit<RaftOptions, 'id' | 'voters' | 'random' | 'storage'>>;
  /**
   * Snapshot the store and drop the log before it every this many applied entries (default
   * 10,000; 0 never). Lower: less disk and faster restarts, more snapshot writes.
   */
  readonly compactEvery?: number;
  /** How long a request waits for its write to apply or its read to be confirmed (default 5,000 ms). */
  readonly requestTimeoutMs?: number;
  readonly runtime?: Runtime;
  /** Hears role and leader changes, and a fatal disk error (after which the server stops). */
  readonly onEvent?: (event: RaftServerEvent) => void;
}

/** What a {@link RaftServer} reports as it runs. */
export type RaftServerEvent =
  | {
      readonly kind: 'role';
      readonly role: Role;
      readonly leader: RaftId | null;
      readonly term: number;
    }
  | { readonly kind: 'fatal'; readonly error: string };

type Resolved = Required<Omit<RaftServerOptions, 'onEvent' | 'raft' | 'httpHost'>> & {
  readonly httpHost: string;
  readonly onEvent: ((e: RaftServerEvent) => void) | undefined;
};

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_KEY_LENGTH = 1024;
const MAX_WAITERS = 8192;

type Answer = { readonly status: number; readonly body: Record<string, unknown> };
type Waiter = { readonly resolve: (a: Answer) => void; readonly cancel: Cancel };

const answer = (status: number, body: Record<string, unknown>): Answer => ({ status, body });
const failure = (status: number, error: string, message: string, extra = {}): Answer =>
  answer(status, { error, message, ...extra });

/**
 * One member of the replicated key-value store.
 *
 * @example
 * const server = await RaftServer.start({
 *   id: 'a',
 *   peers: new Map([['a', { host: '127.0.0.1', port: 7001 }], ['b', ...], ['c', ...]]),
 *   dataDir: '/var/lib/raft-a',
 *   httpPort: 8001,
 * });
 * // curl -X PUT localhost:8001/kv/x -d '{"value":"1"}'
 * await server.close();
 */
export class RaftServer {
  private readonly kv = new KvStateMachine();
  private readonly writes = new Map<number, Waiter & { readonly term: number }>();
  private readonly reads = new Map<string, Waiter & { readonly key: string }>();
  private confirmed: { index: number; context: string }[] = [];
  private transport!: RaftTransport;
  private http!: Server;
  private cancelTick: Cancel | undefined;
  private busy = false;
  private closed = false;
  private readCounter = 0;
  private writeSeq = 0;
  private readonly session: string;
  private persistedTerm: number;

  private constructor(
    private readonly o: Resolved,
    private readonly raft: RaftNode,
    private readonly disk: RaftDisk,
    snapshot: KvImage | undefined,
  ) {
    if (snapshot !== undefined) this.kv.restore(snapshot);
    const boot = Buffer.from(o.runtime.random.bytes(6)).toString('hex');
    this.session = `${o.id}.${boot}`;
    this.persistedTerm = raft.term;
  }

  /** Opens the data dir, binds the Raft and HTTP ports and starts ticking. */
  static async start(options: RaftServerOptions): Promise<RaftServer> {
    const o = resolve(options);
    const { disk, storage } = await RaftDisk.open(o.dataDir);
    const raft = new RaftNode({
      electionTicks: 50,
      heartbeatTicks: 5,
      ...options.raft,
      id: o.id,
      voters: [...o.peers.keys()],
      random: o.runtime.random.fork('raft'),
      storage,
    });
    const server = new RaftServer(o, raft, disk, storage.snapshot?.data as KvImage | undefined);
    try {
      await server.listen();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  private async listen(): Promise<void> {
    const self = this.o.peers.get(this.o.id)!;
    this.http = createServer((req, res) => this.serve(req, res));
    this.http.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.o.httpPort, this.o.httpHost, () => resolve());
    });
    const httpAddress = `${this.o.httpHost}:${this.httpPort}`;
    this.transport = new RaftTransport(this.o.id, this.o.peers, httpAddress, this.o.runtime, (m) =>
      this.receive(m),
    );
    await this.transport.listen(self);
    this.cancelTick = this.o.runtime.timers.setTimer(this.o.tickMs, () => this.tick());
  }

  /** The HTTP API's port (useful with `httpPort: 0`). */
  get httpPort(): number {
    const a = this.http?.address();
    return typeof a === 'object' && a !== null ? a.port : this.o.httpPort;
  }

  /** Frames and messages the transport refused or dropped. */
  get counters(): Readonly<TransportCounters> {
    return this.transport.counters;
  }

  /** The member's Raft state and counters (what `GET /status` answers). */
  status(): Record<string, unknown> {
    const s = this.raft.status();
    return {
      id: s.id,
      role: s.role,
      leader: s.leader,
      term: s.term,
      commit: s.commit,
      applied: s.applied,
      lastIndex: s.lastIndex,
      snapshotIndex: s.snapshotIndex,
      tornBytesAtStart: this.disk.tornBytes,
      ...this.transport.counters,
    };
  }

  // ---------------------------------------------------------------- the Ready loop

  private tick(): void {
    if (this.closed) return;
    this.raft.tick();
    this.kick();
    this.cancelTick = this.o.runtime.timers.setTimer(this.o.tickMs, () => this.tick());
  }

  private receive(m: RaftMessage): void {
    if (this.closed) return;
    this.raft.step(m);
    // An acknowledgement that arrives while a batch syncs may commit earlier entries: apply
    // them (and answer their clients) now rather than after the sync.
    if (this.busy) this.applyCommitted(this.raft.takeCommitted());
    this.kick();
  }

  private kick(): void {
    if (this.busy || this.closed) return;
    this.busy = true;
    this.pump().then(
      () => {
        this.busy = false;
        // Inputs that arrived during the last await are in the next Ready.
        if (this.raft.hasReady()) this.kick();
      },
      (error: unknown) => {
        this.busy = false;
        this.fatal(error);
      },
    );
  }

  private async pump(): Promise<void> {
    while (!this.closed && this.raft.hasReady()) {
      const rd = this.raft.ready();
      if (rd.softState !== undefined)
        this.o.onEvent?.({ kind: 'role', ...rd.softState, term: this.raft.term });
      const messages = coalesce(rd.messages);
      const early = rd.snapshot === undefined ? messages.filter((m) => this.canSendEarly(m)) : [];
      this.transport.sendAll(early);
      // Committed entries are durable already (here and on a quorum: Raft hands out only
      // entries made stable by an earlier Ready), so they apply while this batch syncs.
      if (rd.snapshot === undefined) this.apply(rd);
      await this.disk.save(rd);
      if (this.closed) return;
      if (rd.hardState !== undefined) this.persistedTerm = rd.hardState.term;
      const sentEarly = new Set(early);
      this.transport.sendAll(messages.filter((m) => !sentEarly.has(m)));
      if (rd.snapshot !== undefined) this.apply(rd);
      this.raft.advance(rd);
      await this.maybeCompact();
    }
  }

  /**
   * A leader's appends and heartbeats of an already durable term depend on nothing in this
   * Ready's writes (the leader counts its own copy only once `advance` says it is stable).
   */
  private canSendEarly(m: RaftMessage): boolean {
    return (
      this.raft.role === 'leader' &&
      (m.type === 'append' || m.type === 'heartbeat') &&
      m.term === this.persistedTerm
    );
  }

  private apply(rd: Ready): void {
    if (rd.snapshot !== undefined) {
      this.kv.restore(rd.snapshot.data as KvImage);
      for (const [index, w] of this.writes)
        if (index <= rd.snapshot.index) this.settleWrite(index, w, unknownOutcome());
    }
    for (const rs of rd.readStates) this.confirmed.push(rs);
    this.applyCommitted(rd.committedEntries);
  }

  /** Applies committed entries in order, then answers the reads they make possible. */
  private applyCommitted(entries: readonly Entry[]): void {
    for (const e of entries) this.applyEntry(e);
    const applied = Math.max(this.raft.appliedIndex, entries.at(-1)?.index ?? 0);
    if (this.confirmed.length === 0) return;
    const ready = this.confirmed.filter((c) => c.index <= applied);
    if (ready.length === 0) return;
    this.confirmed = this.confirmed.filter((c) => c.index > applied);
    for (const c of ready) {
      const w = this.reads.get(c.context);
      if (w === undefined) continue;
      this.reads.delete(c.context);
      w.cancel();
      w.resolve(answer(200, { value: this.kv.get(w.key) }));
    }
  }

  private applyEntry(e: Entry): void {
    const result =
      e.kind === 'normal' && e.data !== null ? this.kv.apply(e.data as KvCommand) : undefined;
    const w = this.writes.get(e.index);
    if (w === undefined) return;
    if (w.term !== e.term)
      this.settleWrite(
        e.index,
        w,
        failure(503, 'dropped', 'another leader replaced the write before it committed'),
      );
    else if (result === undefined)
      this.settleWrite(
        e.index,
        w,
        failure(409, 'stale-seq', 'this session already applied a later seq'),
      );
    else this.settleWrite(e.index, w, answer(200, { ...result }));
  }

  private settleWrite(index: number, w: Waiter, a: Answer): void {
    this.writes.delete(index);
    w.cancel();
    w.resolve(a);
  }

  private async maybeCompact(): Promise<void> {
    const every = this.o.compactEvery;
    if (every === 0 || this.raft.appliedIndex - this.raft.snapshotIndex < every) return;
    const snap = this.raft.compact(this.kv.image());
    const entries: Entry[] = [];
    for (let i = snap.index + 1; i <= this.raft.lastIndex; i++) entries.push(this.raft.entry(i)!);
    await this.disk.compact(snap, entries);
  }

  private fatal(error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    this.o.onEvent?.({ kind: 'fatal', error: text });
    void this.close();
  }

  // ---------------------------------------------------------------- client requests

  private write(
    op: Exclude<KvOp, { f: 'get' }>,
    client: string | undefined,
    seq: number | undefined,
  ): Promise<Answer> | Answer {
    if (this.raft.role !== 'leader') return this.notLeader();
    if (this.writes.size >= MAX_WAITERS)
      return failure(503, 'overloaded', 'too many writes in flight');
    const command: KvCommand =
      client === undefined || seq === undefined
        ? { client: this.session, seq: ++this.writeSeq, op }
        : { client, seq, op };
    const r = this.raft.propose(command);
    if (!r.ok)
      return r.reason === 'not-leader'
        ? this.notLeader()
        : failure(503, r.reason, `proposal refused: ${r.reason}`);
    this.kick();
    // An earlier proposal of ours at this index was truncated from our log: it cannot commit.
    const replaced = this.writes.get(r.index);
    if (replaced !== undefined)
      this.settleWrite(r.index, replaced, failure(503, 'dropped', 'truncated by a new leader'));
    return new Promise((resolve) => {
      const waiter = {
        resolve,
        term: r.term,
        cancel: this.o.runtime.timers.setTimer(this.o.requestTimeoutMs, () => {
          if (this.writes.get(r.index) === waiter) this.writes.delete(r.index);
          resolve(unknownOutcome());
        }),
      };
      this.writes.set(r.index, waiter);
    });
  }

  private read(key: string): Promise<Answer> | Answer {
    if (this.reads.size >= MAX_WAITERS)
      return failure(503, 'overloaded', 'too many reads in flight');
    const context = `${this.session}:${++this.readCounter}`;
    if (!this.raft.readIndex(context))
      return failure(503, 'no-leader', 'no leader to confirm the read');
    this.kick();
    return new Promise((resolve) => {
      const cancel = this.o.runtime.timers.setTimer(this.o.requestTimeoutMs, () => {
        this.reads.delete(context);
        resolve(failure(504, 'timeout', 'the read was not confirmed in time'));
      });
      this.reads.set(context, { resolve, cancel, key });
    });
  }

  private notLeader(): Answer {
    const leader = this.raft.leader;
    const http = leader === null ? undefined : this.transport.httpOf.get(leader);
    if (leader === null || http === undefined)
      return failure(503, 'no-leader', 'no leader known; retry shortly', { leader });
    return failure(307, 'not-leader', `${leader} leads`, { leader, location: `http://${http}` });
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    this.route(req).then(
      (a) => send(res, a, req.url ?? '/'),
      (error: unknown) =>
        send(
          res,
          error instanceof RaftWireError || error instanceof RangeError
            ? failure(400, 'bad-request', error.message)
            : failure(500, 'internal', String(error)),
          req.url ?? '/',
        ),
    );
  }

  private async route(req: IncomingMessage): Promise<Answer> {
    if (this.closed) return failure(503, 'closed', 'the server is shutting down');
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/status')
      return req.method === 'GET' ? answer(200, this.status()) : methodNotAllowed();
    if (!url.pathname.startsWith('/kv/'))
      return failure(404, 'not-found', `no route ${url.pathname}`);
    const key = keyOf(url.pathname.slice(4));
    if (req.method === 'GET') return this.read(key);
    if (req.method !== 'PUT' && req.method !== 'POST') return methodNotAllowed();
    const body = await readBody(req);
    if (typeof body === 'object' && 'status' in body && 'body' in body) return body as Answer;
    const b = body as Record<string, unknown>;
    const op = req.method === 'PUT' ? 'put' : b.op;
    const parsed = parseKvCommand({
      client: b.client ?? 'x',
      seq: b.seq ?? 0,
      op: { ...b, f: op, key },
    });
    const hasSession = b.client !== undefined || b.seq !== undefined;
    if (hasSession && (b.client === undefined || b.seq === undefined))
      return failure(400, 'bad-request', 'client and seq go together');
    return this.write(
      parsed.op,
      hasSession ? parsed.client : undefined,
      hasSession ? parsed.seq : undefined,
    );
  }

  /** Stops ticking, closes the ports and the log; pending requests get 503. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelTick?.();
    for (const [i, w] of this.writes) this.settleWrite(i, w, unknownOutcome());
    for (const w of this.reads.values()) {
      w.cancel();
      w.resolve(failure(503, 'closed', 'the server is shutting down'));
    }
    this.reads.clear();
    await this.transport?.close();
    if (this.http !== undefined) {
      this.http.closeAllConnections();
      await new Promise<void>((resolve) => this.http.close(() => resolve()));
    }
    // A save in flight finishes before the file closes.
    while (this.busy) await this.o.runtime.timers.sleep(1);
    await this.disk.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Merges a Ready's messages per recipient, keeping their order: an append that continues the
 * previous message to the same peer (same term, its entries start where the other's end) joins
 * it, and a successful acknowledgement that follows another one to the same peer in the same
 * term replaces it (acknowledgements are cumulative). Under load the leader proposes one entry
 * per request, and Raft sends one append per proposal and one acknowledgement per append; this
 * turns a batch of them into one message each way, with the same meaning: a follower accepts the
 * merged append exactly when it would accept the parts in order, and the leader's progress moves
 * to the highest acknowledged index either way.
 */
export function coalesce(messages: readonly RaftMessage[]): RaftMessage[] {
  const out: RaftMessage[] = [];
  const lastTo = new Map<RaftId, number>();
  for (const m of messages) {
    const at = lastTo.get(m.to);
    const prev = at === undefined ? undefined : out[at];
    if (prev !== undefined && prev.term === m.term && prev.from === m.from) {
      if (
        prev.type === 'append' &&
        m.type === 'append' &&
        prev.index + prev.entries.length === m.index &&
        m.commit >= prev.commit
      ) {
        out[at!] = {
          ...prev,
          entries: m.entries.length === 0 ? prev.entries : [...prev.entries, ...m.entries],
          commit: m.commit,
        };
        continue;
      }
      if (
        prev.type === 'append-resp' &&
        m.type === 'append-resp' &&
        !prev.reject &&
        !m.reject &&
        m.index >= prev.index
      ) {
        out[at!] = m;
        continue;
      }
    }
    lastTo.set(m.to, out.length);
    out.push(m);
  }
  return out;
}

function unknownOutcome(): Answer {
  return failure(504, 'timeout', 'the write may or may not have applied');
}

function methodNotAllowed(): Answer {
  return failure(405, 'method-not-allowed', 'use GET, PUT or POST');
}

function keyOf(raw: string): string {
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw rangeError('key', 'a percent-encoded UTF-8 string', raw);
  }
  if (key.length === 0 || key.length > MAX_KEY_LENGTH)
    throw rangeError('key', `1-${MAX_KEY_LENGTH} characters`, key.slice(0, 40));
  return key;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | Answer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      return failure(413, 'too-large', `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
  } catch {
    return failure(400, 'bad-request', 'the body is not UTF-8 JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return failure(400, 'bad-request', 'the body must be a JSON object');
  return doc as Record<string, unknown>;
}

function send(res: ServerResponse, a: Answer, path: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (a.status === 307 && typeof a.body.location === 'string')
    headers.location = `${a.body.location}${path}`;
  if (a.status === 503) headers['retry-after'] = '1';
  res.writeHead(a.status, headers);
  res.end(JSON.stringify(a.body));
}

function resolve(o: RaftServerOptions): Resolved {
  nonEmptyString('id', o.id);
  if (o.id.length > MAX_ID_LENGTH)
    throw rangeError('id', `at most ${MAX_ID_LENGTH} characters`, o.id);
  if (!(o.peers instanceof Map) || !o.peers.has(o.id))
    throw rangeError('peers', `a Map of every member including ${JSON.stringify(o.id)}`, o.peers);
  for (const [id, a] of o.peers) {
    nonEmptyString('peers id', id);
    integerIn(`peers[${id}].port`, a.port, 1, 65535);
    nonEmptyString(`peers[${id}].host`, a.host);
  }
  nonEmptyString('dataDir', o.dataDir);
  return {
    id: o.id,
    peers: o.peers,
    dataDir: o.dataDir,
    httpPort: integerIn('httpPort', o.httpPort, 0, 65535),
    httpHost: o.httpHost ?? o.peers.get(o.id)!.host,
    tickMs: integerIn('tickMs', o.tickMs ?? 10, 1, 60_000),
    compactEvery: integerIn('compactEvery', o.compactEvery ?? 10_000, 0, 1_000_000_000),
    requestTimeoutMs: integerIn('requestTimeoutMs', o.requestTimeoutMs ?? 5000, 1, 3_600_000),
    runtime: o.runtime ?? systemRuntime(),
    onEvent: o.onEvent,
  };
}

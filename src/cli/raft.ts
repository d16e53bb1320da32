/**
 * `faultline raft serve`: one member of the replicated key-value store over TCP, with its log in a
 * directory and an HTTP JSON API, printing role changes as JSON lines until SIGINT or SIGTERM.
 *
 * @module
 */
import { systemRuntime } from '../core/system.js';
import { isRaftDiskError } from '../protocols/raft/disk.js';
import { RaftServer } from '../protocols/raft/server.js';
import type { RaftServerOptions } from '../protocols/raft/server.js';
import type { PeerAddress } from '../protocols/raft/transport.js';
import { integerFlag, parseFlags } from './args.js';
import type { Command, CommandIo } from './command.js';
import { exitCodes, UsageError } from './command.js';

const usage = `Usage: faultline raft serve --id ID --peers ID=HOST:PORT,... --data DIR --http PORT [options]

Runs one member of a Raft-replicated key-value store. Members talk over TCP (the PORT of each
--peers entry); the log and hard state live in DIR (each batch is fsynced before it is
acknowledged) and a restart reads them back. Clients use HTTP JSON on --http:

  GET  /kv/KEY                              linearizable read (ReadIndex), on any member
  PUT  /kv/KEY   {"value":"v"}              put
  POST /kv/KEY   {"op":"append","value":"v"} append
  POST /kv/KEY   {"op":"cas","from":"a","to":"b"}  compare-and-set
  GET  /status                              role, leader, term, indexes, counters

Writes sent to a member that does not lead get 307 with Location on the leader's HTTP API.
Role changes print as JSON lines: {"ms":N,"event":{...}}. SIGINT or SIGTERM stops the member.

Options:
  --id ID             this member's id (one of the --peers ids)
  --peers LIST        every member, this one included: id=host:port,...
  --data DIR          data directory (created if missing)
  --http PORT         HTTP API port (on the host of this member's --peers entry)
  --tick-ms N         ms per Raft tick (default 10; heartbeat 5 ticks, election 50-100 ticks)
  --compact-every N   snapshot every N applied entries (default 10000; 0 never)
  -h, --help          show this help
`;

const ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** Parses `id=host:port,...` into a map; a bad entry is a UsageError naming it. */
export function parsePeers(list: string): Map<string, PeerAddress> {
  const peers = new Map<string, PeerAddress>();
  for (const item of list.split(',')) {
    const m = /^([^=]+)=(.+):(\d{1,5})$/.exec(item.trim());
    const port = Number(m?.[3]);
    if (m === null || !ID.test(m[1]!) || port < 1 || port > 65535)
      throw new UsageError(
        `--peers entry ${JSON.stringify(item)} is not id=host:port (id of [A-Za-z0-9_.-], port 1-65535)`,
      );
    if (peers.has(m[1]!)) throw new UsageError(`--peers names ${JSON.stringify(m[1])} twice`);
    peers.set(m[1]!, { host: m[2]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  return peers;
}

/** Starts the server; a failure the user can fix becomes a one-line error, not a stack trace. */
async function startOrExplain(options: RaftServerOptions): Promise<RaftServer> {
  try {
    return await RaftServer.start(options);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    if (isRaftDiskError(error)) throw new StartError(exitCodes.dataError, error.message);
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code))
      throw new StartError(73, `cannot start: ${(error as Error).message}`);
    throw error;
  }
}

class StartError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

async function serve(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    id: { type: 'string' },
    peers: { type: 'string' },
    data: { type: 'string' },
    http: { type: 'string' },
    'tick-ms': { type: 'string' },
    'compact-every': { type: 'string' },
  });
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const { id, data } = values;
  if (id === undefined) throw new UsageError('--id is required');
  if (values.peers === undefined) throw new UsageError('--peers is required');
  if (data === undefined || data === '') throw new UsageError('--data is required');
  const peers = parsePeers(values.peers);
  if (!peers.has(id))
    throw new UsageError(
      `--id ${JSON.stringify(id)} is not among --peers (${[...peers.keys()].join(', ')})`,
    );
  const http = integerFlag('http', values.http, 0, 65535);
  if (http === undefined) throw new UsageError('--http is required');
  const tickMs = integerFlag('tick-ms', values['tick-ms'], 1, 60_000);
  const compactEvery = integerFlag('compact-every', values['compact-every'], 0);
  const runtime = systemRuntime();
  const start = runtime.clock.monotonicMs();
  const line = (event: unknown) =>
    io.out(`${JSON.stringify({ ms: Math.round(runtime.clock.monotonicMs() - start), event })}\n`);
  let failed: (error: string) => void = () => undefined;
  const fatal = new Promise<string>((resolve) => (failed = resolve));
  const server = await startOrExplain({
    id,
    peers,
    dataDir: data,
    httpPort: http,
    runtime,
    ...(tickMs === undefined ? {} : { tickMs }),
    ...(compactEvery === undefined ? {} : { compactEvery }),
    onEvent: (event) => {
      line(event);
      if (event.kind === 'fatal') failed(event.error);
    },
  });
  line({ kind: 'started', id, http: server.httpPort, ...server.status() });
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const outcome = await Promise.race([stop.then(() => undefined), fatal]);
  await server.close();
  if (outcome !== undefined) {
    io.err(`faultline raft serve: ${outcome}\n`);
    return 74;
  }
  return 0;
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'serve') {
    try {
      return await serve(rest, io);
    } catch (error) {
      if (!(error instanceof StartError)) throw error;
      io.err(`faultline raft serve: ${error.message}\n`);
      return error.exitCode;
    }
  }
  if (sub === undefined || sub === '-h' || sub === '--help') {
    io.out(usage);
    return 0;
  }
  throw new UsageError(`unknown raft subcommand ${JSON.stringify(sub)} (expected serve)`);
}

/** The `raft` subcommand. */
export const raftCommand: Command = {
  name: 'raft',
  summary: 'run one member of the Raft-replicated key-value store (raft serve)',
  usage,
  run,
};

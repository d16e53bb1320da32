/**
 * `faultline swim`: one SWIM member over UDP on this machine, printing its membership events as
 * JSON lines until SIGINT or SIGTERM (then it leaves gracefully).
 *
 * @module
 */
import { systemRuntime } from '../core/system.js';
import { swimProfiles } from '../protocols/swim/config.js';
import type { SwimProfile } from '../protocols/swim/config.js';
import { SwimUdpNode } from '../protocols/swim/udp.js';
import { integerFlag, parseFlags } from './args.js';
import type { Command, CommandIo } from './command.js';
import { UsageError } from './command.js';

const usage = `Usage: faultline swim --port N [options]

Runs one SWIM member (with Lifeguard) over UDP, with TCP for full state exchanges, and prints
each membership event as one JSON line: {"ms":N,"event":{...}}. SIGINT or SIGTERM leaves the
cluster gracefully and exits 0.

Options:
  --port N          UDP and TCP port to bind (required)
  --host ADDR       address to bind and advertise (default 127.0.0.1)
  --join LIST       comma-separated host:port of members to join
  --profile NAME    lan, wan or local (default lan)
  -h, --help        show this help
`;

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    join: { type: 'string' },
    profile: { type: 'string' },
  });
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const port = integerFlag('port', values.port, 1, 65535);
  if (port === undefined) throw new UsageError('--port is required');
  const profile = values.profile ?? 'lan';
  if (!Object.hasOwn(swimProfiles, profile))
    throw new UsageError(`--profile must be lan, wan or local (got ${JSON.stringify(profile)})`);
  const runtime = systemRuntime();
  const start = runtime.clock.monotonicMs();
  const node = await SwimUdpNode.start({
    port,
    ...(values.host === undefined ? {} : { host: values.host }),
    seeds: (values.join ?? '').split(',').filter((s) => s.length > 0),
    profile: profile as SwimProfile,
    runtime,
    onEvent: (event) =>
      io.out(`${JSON.stringify({ ms: Math.round(runtime.clock.monotonicMs() - start), event })}\n`),
  });
  io.out(`${JSON.stringify({ ms: 0, event: { kind: 'started', name: node.swim.name } })}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await node.leave();
  return 0;
}

/** The `swim` subcommand. */
export const swimCommand: Command = {
  name: 'swim',
  summary: 'run one SWIM member over UDP, printing membership events as JSON lines',
  usage,
  run,
};

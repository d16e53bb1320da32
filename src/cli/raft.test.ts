import { describe, expect, it } from 'vitest';
import { raftCommand } from './raft.js';
import { runCli } from './run.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['raft', ...args], [raftCommand], {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
  });
  return { code, out, err };
}

const peers = 'a=127.0.0.1:7001,b=127.0.0.1:7002,c=127.0.0.1:7003';

describe('faultline raft serve: bad options are one-line errors', () => {
  it.each([
    [['serve', '--peers', peers, '--data', 'd', '--http', '8001'], /--id is required/],
    [['serve', '--id', 'a', '--data', 'd', '--http', '8001'], /--peers is required/],
    [['serve', '--id', 'a', '--peers', peers, '--http', '8001'], /--data is required/],
    [['serve', '--id', 'a', '--peers', peers, '--data', 'd'], /--http is required/],
    [
      ['serve', '--id', 'z', '--peers', peers, '--data', 'd', '--http', '1'],
      /--id "z" is not among --peers/,
    ],
    [
      ['serve', '--id', 'a', '--peers', 'a=127.0.0.1', '--data', 'd', '--http', '1'],
      /--peers entry "a=127.0.0.1"/,
    ],
    [
      ['serve', '--id', 'a', '--peers', 'a=h:70000', '--data', 'd', '--http', '1'],
      /--peers entry "a=h:70000"/,
    ],
    [
      ['serve', '--id', 'a', '--peers', 'a=h:1,a=h:2', '--data', 'd', '--http', '1'],
      /names "a" twice/,
    ],
    [['serve', '--id', 'a', '--peers', peers, '--data', 'd', '--http', '99999'], /--http/],
    [
      ['serve', '--id', 'a', '--peers', peers, '--data', 'd', '--http', '1', '--tick-ms', '0'],
      /--tick-ms/,
    ],
    [['stop'], /unknown raft subcommand "stop"/],
  ])('%j', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('prints its usage', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/faultline raft serve --id ID --peers/);
  });
});

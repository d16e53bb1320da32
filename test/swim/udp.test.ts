/**
 * Five `faultline swim` processes over UDP on loopback: one is SIGSTOPped (suspected, declared
 * dead, then back with a higher incarnation after SIGCONT), another SIGKILLed (declared dead by
 * everyone), and a hostile datagram does not disturb anyone. Prints the convergence times.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts } from '../services/net.js';

interface Line {
  readonly at: number;
  readonly event: {
    kind: string;
    node?: string;
    state?: string;
    incarnation?: number;
    name?: string;
  };
}

class Member {
  readonly lines: Line[] = [];
  readonly child: ChildProcess;
  stderr = '';
  constructor(
    readonly name: string,
    port: number,
    join: string | undefined,
  ) {
    const args = [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'swim',
      '--port',
      String(port),
      '--profile',
      'local',
    ];
    if (join !== undefined) args.push('--join', join);
    this.child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      try {
        this.lines.push({ at: performance.now(), event: (JSON.parse(l) as Line).event });
      } catch {
        this.stderr += `unparsable: ${l}\n`;
      }
    });
    this.child.stderr!.on(
      'data',
      (c: Buffer) => (this.stderr = (this.stderr + c.toString()).slice(-4000)),
    );
  }

  /** The last state this member reported for `node`. */
  view(node: string): { state?: string; incarnation?: number } | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const e = this.lines[i]!.event;
      if (e.kind === 'change' && e.node === node) return e;
    }
    return undefined;
  }
}

async function until(
  what: string,
  check: () => boolean,
  members: Member[],
  timeoutMs = 30_000,
): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs)
      throw new Error(
        `timed out waiting for ${what}; views: ${members
          .map(
            (m) =>
              `${m.name} sees ${members.map((o) => `${o.name}=${m.view(o.name)?.state ?? '?'}`).join(' ')}`,
          )
          .join('; ')}; stderr: ${members.map((m) => m.stderr).join('\n')}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - start;
}

const members: Member[] = [];
afterAll(() => {
  for (const m of members) m.child.kill('SIGKILL');
});

describe('SWIM over UDP, five processes', () => {
  it(
    'suspects and declares a stopped member, takes it back, and declares a killed one',
    { timeout: 400_000 },
    async () => {
      const ports = await freePorts(5);
      const names = ports.map((p) => `127.0.0.1:${p}`);
      for (let i = 0; i < 5; i++)
        members.push(new Member(names[i]!, ports[i]!, i === 0 ? undefined : names[0]));
      const all = (fn: (m: Member, i: number) => boolean, skip: number[] = []): boolean =>
        members.every((m, i) => skip.includes(i) || fn(m, i));
      // Process start-up under a loaded machine can take many seconds: wait for every member first.
      await until(
        'five started members',
        () => all((m) => m.lines.some((l) => l.event.kind === 'started')),
        members,
        150_000,
      );
      // The local profile's 200 ms probe timeout can suspect a member falsely while the machine is
      // loaded; it refutes once it runs again, so convergence gets the same room as start-up.
      const joined = await until(
        'all five to see each other alive',
        () => all((m, i) => names.every((n, j) => j === i || m.view(n)?.state === 'alive')),
        members,
        120_000,
      );

      const stopped = members[2]!;
      stopped.child.kill('SIGSTOP');
      const suspected = await until(
        'a suspicion of the stopped member',
        () =>
          members.some(
            (m, i) =>
              i !== 2 &&
              m.lines.some(
                (l) =>
                  l.event.kind === 'change' &&
                  l.event.node === names[2] &&
                  l.event.state === 'suspect',
              ),
          ),
        members,
      );
      const dead = await until(
        'the stopped member declared dead by all',
        () => all((m) => m.view(names[2]!)?.state === 'dead', [2]),
        members,
      );
      stopped.child.kill('SIGCONT');
      const back = await until(
        'the resumed member alive again with a higher incarnation',
        () =>
          all(
            (m) =>
              m.view(names[2]!)?.state === 'alive' && (m.view(names[2]!)?.incarnation ?? 0) > 0,
            [2],
          ),
        members,
      );

      // A hostile datagram: dropped and counted by the member, which keeps working.
      const sock = createSocket('udp4');
      await new Promise<void>((r) =>
        sock.send(Buffer.from('{"v":1,"kind":"ping","seq":-5'), ports[0]!, '127.0.0.1', () => r()),
      );
      sock.close();

      members[4]!.child.kill('SIGKILL');
      const killed = await until(
        'the killed member declared dead by the others',
        () => all((m) => m.view(names[4]!)?.state === 'dead', [4]),
        members,
      );
      expect(all((m) => m.child.exitCode === null, [4])).toBe(true);
      console.log(
        `swim over UDP (local profile): joined ${joined.toFixed(0)} ms; stopped member suspected after ${suspected.toFixed(0)} ms, dead everywhere after ${(suspected + dead).toFixed(0)} ms, back ${back.toFixed(0)} ms after SIGCONT; killed member dead everywhere after ${killed.toFixed(0)} ms`,
      );
      expect(stopped.lines.some((l) => l.event.kind === 'refute')).toBe(true);
    },
  );
});

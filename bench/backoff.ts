/**
 * A reproduction of the experiment in Marc Brooker, "Exponential Backoff And Jitter" (AWS
 * Architecture Blog, 2015): N clients contend on one resource under optimistic concurrency
 * control, each retrying on conflict with a backoff variant (base 5 ms, cap 2 s).
 * `npm run --silent bench -- backoff [--json] [--rounds N]`.
 *
 * The model: a client reads the resource's version, and after a network round trip (uniform in
 * [0.5, 1.5] ms) tries a conditional write, which fails if anyone wrote since its read. A failed
 * client waits its backoff delay and starts again. Everything runs in the simulator's virtual time,
 * seeded, so the figures are deterministic. Reported: write calls in total and the virtual time
 * at which the last client succeeded, medians over seeds.
 */
import { Backoff } from '../src/resilience/backoff.js';
import type { Jitter } from '../src/resilience/backoff.js';
import { Scheduler } from '../src/sim/index.js';
import type { BenchRow, BenchSuite } from './types.js';
import { median } from './util.js';

const BASE_MS = 5;
const CAP_MS = 2000;

type Variant = {
  name: string;
  delay: ((n: number, previous: number, s: Scheduler) => number) | undefined;
};

function variants(): Variant[] {
  const withJitter = (jitter: Jitter): Variant['delay'] => {
    const backoff = new Backoff({ baseMs: BASE_MS, capMs: CAP_MS, jitter });
    return (n, previous, s) => backoff.delayMs(n, previous, s.random);
  };
  return [
    { name: 'no-backoff', delay: undefined },
    { name: 'exponential', delay: withJitter('none') },
    { name: 'equal', delay: withJitter('equal') },
    { name: 'full', delay: withJitter('full') },
    { name: 'decorrelated', delay: withJitter('decorrelated') },
  ];
}

/** One contention run: returns [write calls, completion time in virtual ms]. */
function simulate(clients: number, variant: Variant, seed: number): [number, number] {
  const s = new Scheduler({ seed: `backoff-${seed}` });
  let version = 0;
  let calls = 0;
  let done = 0;
  let finishedAtMs = 0;
  const attempt = (retry: number, previousMs: number): void => {
    const readVersion = version;
    s.after(0.5 + s.random.next(), () => {
      calls++;
      if (version === readVersion) {
        version++;
        if (++done === clients) finishedAtMs = s.nowMs;
        return;
      }
      const delayMs = variant.delay === undefined ? 0 : variant.delay(retry, previousMs, s);
      s.after(delayMs, () => attempt(retry + 1, delayMs));
    });
  };
  for (let i = 0; i < clients; i++) attempt(0, BASE_MS);
  s.runUntilIdle(50_000_000);
  if (done !== clients) throw new Error(`run did not finish (seed ${seed})`);
  return [calls, finishedAtMs];
}

const suite: BenchSuite = {
  name: 'backoff',
  description:
    'AWS "Exponential Backoff And Jitter" experiment: N clients, optimistic concurrency on one resource, ' +
    `base ${BASE_MS} ms, cap ${CAP_MS} ms; write calls and virtual completion time (lower is better), medians over seeds.`,
  async run({ args, log }) {
    const at = args.indexOf('--rounds');
    const raw = at >= 0 ? args[at + 1] : undefined;
    const rounds = raw === undefined ? 11 : Number(raw);
    if (!Number.isInteger(rounds) || rounds < 1)
      throw new RangeError(`--rounds must be an integer >= 1 (got ${String(raw)})`);
    const rows: BenchRow[] = [];
    for (const clients of [10, 50, 100]) {
      for (const variant of variants()) {
        const calls: number[] = [];
        const times: number[] = [];
        for (let seed = 1; seed <= rounds; seed++) {
          const [c, t] = simulate(clients, variant, seed);
          calls.push(c);
          times.push(t);
        }
        const impl = `faultline/${variant.name}`;
        rows.push({
          case: `occ-${clients}`,
          impl,
          metric: 'calls',
          value: median(calls),
          unit: 'calls',
        });
        rows.push({
          case: `occ-${clients}`,
          impl,
          metric: 'completion',
          value: median(times),
          unit: 'ms',
        });
        log(
          `${clients} clients, ${variant.name}: ${median(calls)} calls, ${median(times).toFixed(1)} ms`,
        );
      }
    }
    return rows;
  },
};

export default suite;

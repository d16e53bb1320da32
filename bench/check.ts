/**
 * The linearizability checker on Porcupine's test histories (shared/data/porcupine): the total
 * time for all 102 Jepsen etcd histories and the time for each key-value file. Porcupine is Go and
 * cannot run here, so its rows are the reference figures from shared/data/porcupine/README.md
 * (measured on a 2-vCPU machine of the same kind), not measurements of this run.
 *
 * Parsing is not timed: each round checks histories parsed beforehand.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { casRegister, check, kv, parseEdn, parseJepsen } from '../src/check/index.js';
import type { HistoryEvent } from '../src/check/index.js';
import type { BenchRow, BenchSuite } from './types.js';
import { median, timeMs } from './util.js';

const data = fileURLToPath(new URL('../../shared/data/porcupine/', import.meta.url));

/** Porcupine's figures from the README (ms), keyed by our case names. */
const reference: Record<string, number> = {
  'etcd-all': 730,
  'kv-c01-ok': 0.1,
  'kv-c10-ok': 0.61,
  'kv-c50-ok': 168,
  'kv-c50-bad': 25,
};

const kvFiles = ['c01-ok', 'c01-bad', 'c10-ok', 'c10-bad', 'c50-ok', 'c50-bad'];

function loadEtcd(): HistoryEvent[][] {
  return readdirSync(`${data}jepsen`)
    .filter((f) => /^etcd_\d{3}\.log$/.test(f))
    .sort()
    .map((f) => parseJepsen(readFileSync(`${data}jepsen/${f}`, 'utf8')))
    .filter((events) => events.length > 0);
}

/**
 * Median time of one call of `fn`. Calls are batched so that a round lasts about 50 ms (the
 * timer's resolution does not matter); the batch size doubles from 1 until a batch takes that
 * long, which also warms the JIT up, so a slow first (cold) call does not shrink the batches.
 */
async function measure(rounds: number, fn: () => void): Promise<number> {
  let repeat = 1;
  const round = () => {
    for (let i = 0; i < repeat; i++) fn();
  };
  while ((await timeMs(round)) < 50 && repeat < 1 << 20) repeat *= 2;
  await timeMs(round);
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) samples.push((await timeMs(round)) / repeat);
  return median(samples);
}

const suite: BenchSuite = {
  name: 'check',
  description:
    'Linearizability checker on Porcupine test data: median ms per round (lower is better). ' +
    'The `porcupine` rows are reference figures from shared/data/porcupine/README.md (Go, same machine ' +
    'kind), not measured in this run: Go cannot run here.',
  async run({ args, log }) {
    const roundsArg = args.find((a) => a.startsWith('--rounds='));
    const asked = roundsArg === undefined ? 5 : Number(roundsArg.slice('--rounds='.length));
    const rounds = Number.isInteger(asked) && asked > 0 ? asked : 5;
    const rows: BenchRow[] = [];
    const add = (name: string, ms: number) => {
      rows.push({ case: name, impl: 'faultline', metric: 'total time', value: ms, unit: 'ms' });
      const ref = reference[name];
      if (ref !== undefined)
        rows.push({ case: name, impl: 'porcupine', metric: 'total time', value: ref, unit: 'ms' });
    };
    const etcd = loadEtcd();
    log(`etcd: ${etcd.length} histories, ${rounds} rounds`);
    add('etcd-all', await measure(rounds, () => etcd.forEach((h) => check(h, casRegister()))));
    for (const name of kvFiles) {
      const events = parseEdn(readFileSync(`${data}kv/${name}.txt`, 'utf8'));
      log(`kv ${name}: ${events.length} events`);
      add(`kv-${name}`, await measure(rounds, () => check(events, kv())));
    }
    return rows;
  },
};

export default suite;

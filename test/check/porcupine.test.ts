/**
 * Porcupine's test histories (shared/data/porcupine, see its README): every verdict reproduced.
 * The data sits beside the clone (`../shared` relative to the repository root), here and in CI.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  casRegister,
  check,
  kv,
  parseEdn,
  parseHistory,
  parseJepsen,
  register,
} from '../../src/check/index.js';
import type { HistoryEvent } from '../../src/check/index.js';

const data = fileURLToPath(new URL('../../../shared/data/porcupine/', import.meta.url));

// From shared/data/porcupine/README.md: the 23 linearizable etcd histories; 095 is empty (skipped).
const linearizable = new Set(
  '002 005 007 018 025 031 038 045 048 049 051 053 056 067 075 076 080 087 092 098 100 101 102'.split(
    ' ',
  ),
);

const etcdFiles = readdirSync(`${data}jepsen`)
  .filter((f) => /^etcd_\d{3}\.log$/.test(f))
  .sort();

function etcdNumber(file: string): string {
  return file.slice(5, 8);
}

describe('Porcupine etcd histories (Jepsen, CAS register)', () => {
  it('finds all 103 files, 102 of them non-empty', () => {
    expect(etcdFiles).toHaveLength(103);
    expect(readFileSync(`${data}jepsen/etcd_095.log`, 'utf8').trim()).toBe('');
  });

  const cases = etcdFiles
    .filter((f) => etcdNumber(f) !== '095')
    .map((f) => [f, linearizable.has(etcdNumber(f))] as const);

  it('has 23 linearizable and 79 non-linearizable cases', () => {
    expect(cases.filter(([, ok]) => ok)).toHaveLength(23);
    expect(cases.filter(([, ok]) => !ok)).toHaveLength(79);
  });

  it.each(cases)('%s is linearizable: %s', (file, expected) => {
    const events = parseJepsen(readFileSync(`${data}jepsen/${file}`, 'utf8'));
    expect(events.length).toBeGreaterThan(0);
    const result = check(events, casRegister());
    expect(result.kind).toBe(expected ? 'legal' : 'illegal');
    if (result.kind === 'illegal') {
      // The counterexample names an operation of the history that could not be placed.
      expect(result.counterexample.failing).toBeDefined();
      expect(result.counterexample.linearized.length).toBeLessThan(
        result.counterexample.operations.length,
      );
    }
  });
});

describe('Porcupine key-value histories (EDN, partitioned by key)', () => {
  it.each([
    ['c01-ok', true],
    ['c01-bad', false],
    ['c10-ok', true],
    ['c10-bad', false],
    ['c50-ok', true],
    ['c50-bad', false],
  ] as const)('%s is linearizable: %s', (name, expected) => {
    const events = parseEdn(readFileSync(`${data}kv/${name}.txt`, 'utf8'));
    const result = check(events, kv());
    expect(result.kind).toBe(expected ? 'legal' : 'illegal');
    expect(result.partitions).toBeGreaterThan(1);
  });

  it('detects both formats from the text', () => {
    const edn = parseHistory(readFileSync(`${data}kv/c01-ok.txt`, 'utf8'));
    expect(edn[0]).toMatchObject({
      process: 0,
      type: 'invoke',
      f: 'append',
      key: '0',
      value: 'x 0 0 y',
      line: 1,
    });
    const jepsen = parseHistory(readFileSync(`${data}jepsen/etcd_000.log`, 'utf8'));
    expect(jepsen[0]).toMatchObject({ process: 0, type: 'invoke', f: 'read', value: null });
  });
});

/**
 * Porcupine's own small register tests (porcupine_test.go: TestRegisterModel, from MIT 6.824's
 * 2017 quiz 2, section VII, and TestZeroDuration), as [process, f, value, call, output, return]
 * with the register starting at 0. Touching intervals count as concurrent, as in Porcupine.
 */
type SmallOp = readonly [number, 'write' | 'read', number | null, number, number | null, number];

function timed(ops: readonly SmallOp[]): HistoryEvent[] {
  const events = ops.flatMap(([process, f, input, call, output, ret]) => [
    { process, type: 'invoke' as const, f, value: input, time: call },
    { process, type: 'ok' as const, f, value: f === 'write' ? input : output, time: ret },
  ]);
  // Invocations before completions at equal times, so that touching operations overlap.
  const rank = (e: HistoryEvent): number => (e.type === 'invoke' ? 0 : 1);
  return events.sort((a, b) => (a.time ?? 0) - (b.time ?? 0) || rank(a) - rank(b));
}

describe("Porcupine's register tests", () => {
  it.each([
    [
      'quiz: both reads fit',
      true,
      [
        [0, 'write', 100, 0, null, 100],
        [1, 'read', null, 25, 100, 75],
        [2, 'read', null, 30, 0, 60],
      ],
    ],
    [
      'quiz: 0 read after 200 was read',
      false,
      [
        [0, 'write', 200, 0, null, 100],
        [1, 'read', null, 10, 200, 30],
        [2, 'read', null, 40, 0, 90],
      ],
    ],
    [
      'zero duration: fits',
      true,
      [
        [0, 'write', 100, 0, null, 100],
        [1, 'read', null, 25, 100, 75],
        [2, 'read', null, 30, 0, 30],
        [3, 'read', null, 30, 0, 30],
      ],
    ],
    [
      'zero duration: does not fit',
      false,
      [
        [0, 'write', 200, 0, null, 100],
        [1, 'read', null, 10, 200, 10],
        [2, 'read', null, 10, 200, 10],
        [3, 'read', null, 40, 0, 90],
      ],
    ],
  ] as const)('%s → linearizable: %s', (_name, expected, ops) => {
    const result = check(timed(ops as readonly SmallOp[]), register({ initial: 0 }));
    expect(result.kind).toBe(expected ? 'legal' : 'illegal');
  });
});

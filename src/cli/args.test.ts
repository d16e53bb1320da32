import { describe, expect, it } from 'vitest';
import { integerFlag, oneOf, parseFlags, verdictExitCode } from './args.js';
import { UsageError } from './command.js';

describe('cli flag helpers', () => {
  it('parses strictly: an unknown flag throws', () => {
    const flags = { json: { type: 'boolean', default: false } } as const;
    expect(parseFlags(['a', '--json'], flags)).toMatchObject({
      values: { json: true },
      positionals: ['a'],
    });
    expect(() => parseFlags(['--jsn'], flags)).toThrow(/jsn/);
  });

  it('oneOf names the flag and the value', () => {
    expect(oneOf('format', undefined, ['edn', 'json'])).toBeUndefined();
    expect(oneOf('format', 'edn', ['edn', 'json'])).toBe('edn');
    expect(() => oneOf('format', 'xml', ['edn', 'json'])).toThrow(
      new UsageError('--format must be one of edn, json (got "xml")'),
    );
  });

  it('integerFlag accepts safe integers at or above the minimum only', () => {
    expect(integerFlag('seed', undefined, 0)).toBeUndefined();
    expect(integerFlag('seed', '42', 0)).toBe(42);
    expect(integerFlag('n', '10', 1, 10)).toBe(10);
    expect(() => integerFlag('n', '11', 1, 10)).toThrow(
      '--n must be an integer in [1, 10] (got "11")',
    );
    for (const bad of ['-1', '1.5', '1e3', '', 'x', '99999999999999999999']) {
      expect(() => integerFlag('seed', bad, 0)).toThrow(`--seed must be an integer >= 0`);
    }
  });

  it('maps verdicts to exit codes 0, 1, 2', () => {
    const base = { criterion: 'linearizable', operations: 0, partitions: 0, visited: 0 } as const;
    expect(verdictExitCode({ ...base, kind: 'legal' })).toBe(0);
    expect(
      verdictExitCode({
        ...base,
        kind: 'illegal',
        counterexample: {
          partition: 0,
          operations: [],
          linearized: [],
          failing: undefined,
          pending: [],
        },
      }),
    ).toBe(1);
    expect(verdictExitCode({ ...base, kind: 'unknown', reason: 'timeout' })).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { commitWait } from './commit-wait.js';

const seeds = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('lab scenario commit-wait', () => {
  it('points its evidence at the commit note of the later transaction', async () => {
    const run = await runVariant(commitWait, 'unsafe', { seed: 1, record: true });
    expect(run.violated).toBe(true);
    const evidence = run.evidence;
    expect(Number.isFinite(evidence?.timeMs)).toBe(true);
    const event = run.trace?.events.find((e) => e.index === evidence?.traceIndex);
    expect(event?.kind).toBe('note');
    expect(String(event?.detail)).toMatch(/commits at ts/);
    expect(evidence?.operations).toHaveLength(2);
  });

  it('commit wait costs about 2ε per transaction and removes every violation', async () => {
    const unsafe = await runVariant(commitWait, 'unsafe', { seed: 2 });
    const safe = await runVariant(commitWait, 'safe', { seed: 2 });
    expect(unsafe.figures['orderViolations']).toBeGreaterThan(0);
    expect(safe.figures['orderViolations']).toBe(0);
    expect(unsafe.figures['commitWaitMs']).toBe(0);
    expect(safe.figures['commitWaitMs']).toBeGreaterThanOrEqual(20);
    expect(safe.figures['commitWaitMs']).toBeLessThanOrEqual(23);
  });

  it('fails when ε understates the real clock error', async () => {
    let violated = 0;
    for (const seed of seeds(10)) {
      const knobs = { clockErrorMs: 40, epsilonMs: 2 };
      if ((await runVariant(commitWait, 'safe', { seed, knobs })).violated) violated++;
    }
    expect(violated).toBeGreaterThan(0);
  });
});

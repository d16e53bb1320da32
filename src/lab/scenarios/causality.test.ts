import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { causality } from './causality.js';

describe('lab scenario causality', () => {
  it('points its evidence at the note of the misordered effect', async () => {
    const run = await runVariant(causality, 'unsafe', { seed: 1, record: true });
    expect(run.violated).toBe(true);
    const evidence = run.evidence;
    expect(Number.isFinite(evidence?.timeMs)).toBe(true);
    const event = run.trace?.events.find((e) => e.index === evidence?.traceIndex);
    expect(event?.kind).toBe('note');
    expect(event?.timeMs).toBe(evidence?.timeMs);
    expect(evidence?.operations).toHaveLength(2);
  });

  it('vector clocks detect every concurrent pair; wall clocks detect none', async () => {
    const unsafe = await runVariant(causality, 'unsafe', { seed: 2 });
    const safe = await runVariant(causality, 'safe', { seed: 2 });
    expect(unsafe.figures['misorderedPairs']).toBeGreaterThan(0);
    expect(safe.figures['misorderedPairs']).toBe(0);
    expect(safe.figures['concurrentPairs']).toBeGreaterThan(0);
    expect(safe.figures['concurrentDetected']).toBe(safe.figures['concurrentPairs']);
    expect(unsafe.figures['concurrentDetected']).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { failureDetection } from './failure-detection.js';

describe('lab scenario failure-detection', () => {
  it('points its evidence at the note of the first false suspicion', async () => {
    const run = await runVariant(failureDetection, 'unsafe', { seed: 1, record: true });
    expect(run.violated).toBe(true);
    const evidence = run.evidence;
    expect(Number.isFinite(evidence?.timeMs)).toBe(true);
    const event = run.trace?.events.find((e) => e.index === evidence?.traceIndex);
    expect(event?.kind).toBe('note');
    expect(String(event?.detail)).toMatch(/^suspects worker/);
    expect(run.trace?.count).toBeLessThan(10_000);
  });

  it('trades detection time for accuracy: phi makes no mistakes and detects the crash later', async () => {
    const unsafe = await runVariant(failureDetection, 'unsafe', { seed: 2 });
    const safe = await runVariant(failureDetection, 'safe', { seed: 2 });
    expect(unsafe.figures['falseSuspicionsPerHour']).toBeGreaterThanOrEqual(20);
    expect(safe.figures['falseSuspicionsPerHour']).toBe(0);
    expect(unsafe.figures['detectMs']).toBeLessThan(2_000);
    expect(safe.figures['detectMs']).toBeGreaterThan(3_000);
    expect(safe.figures['detectMs']).toBeLessThanOrEqual(10_000);
    // The adaptive P99 timeout follows jitter but suspects every GC pause.
    expect(safe.figures['adaptiveFalseSuspicionsPerHour']).toBeGreaterThan(0);
  });

  it('does not hold suspicions during pauses longer than the stated bound against a detector', async () => {
    const run = await runVariant(failureDetection, 'safe', { seed: 1, knobs: { pauseMs: 5_000 } });
    expect(run.figures['falseSuspicionsPerHour']).toBeGreaterThan(0);
    expect(run.violated).toBe(false);
  });
});

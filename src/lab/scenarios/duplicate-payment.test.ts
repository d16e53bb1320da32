import { describe, expect, it } from 'vitest';
import { evidenceProblems, meanOf, replayDifferences, runSeeds } from '../testing.js';
import { duplicatePayment } from './duplicate-payment.js';

describe('the duplicate-payment scenario', () => {
  it('charges twice without a key, and with a check-then-charge key, on most seeds 1..20', async () => {
    const unsafe = await runSeeds(duplicatePayment, 'unsafe', 1, 20);
    const textbook = await runSeeds(duplicatePayment, 'textbook', 1, 20);
    expect(unsafe.filter((r) => r.violated).length).toBeGreaterThanOrEqual(18);
    expect(textbook.filter((r) => r.violated).length).toBeGreaterThanOrEqual(15);
    expect(meanOf(unsafe, 'duplicateCharges')).toBeGreaterThan(
      meanOf(textbook, 'duplicateCharges'),
    );
  });

  it('charges each payment once with idempotent() on every seed 1..150, late first attempts included', async () => {
    const safe = await runSeeds(duplicatePayment, 'safe', 1, 150);
    expect(safe.filter((r) => r.violated).map((r) => r.seed)).toEqual([]);
    // The property is not vacuous: first attempts did finish after the client had given up on
    // them, and retries were answered by replaying their receipts.
    expect(meanOf(safe, 'lateAttempts')).toBeGreaterThan(1);
    expect(meanOf(safe, 'replays')).toBeGreaterThan(1);
    expect(meanOf(safe, 'confirmedPayments')).toBeGreaterThan(11);
  });

  it('replays a seed and points its evidence at a note of the trace', async () => {
    for (const variant of ['unsafe', 'textbook', 'safe'] as const)
      expect(await replayDifferences(duplicatePayment, variant, 4)).toEqual([]);
    for (const variant of ['unsafe', 'textbook'] as const) {
      const seed = (await runSeeds(duplicatePayment, variant, 1, 10)).find((r) => r.violated)?.seed;
      expect(await evidenceProblems(duplicatePayment, variant, seed ?? -1)).toEqual([]);
    }
  });
});

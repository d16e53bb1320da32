import { describe, expect, it } from 'vitest';
import { runVariant } from '../run.js';
import { meanOf, runSeeds } from '../testing.js';
import { redlockClockJump } from './redlock-clock-jump.js';

describe('the redlock-clock-jump scenario', () => {
  it('lets two clients hold the lock at once, and orders their writes only with the token', async () => {
    const unsafe = await runSeeds(redlockClockJump, 'unsafe', 1, 10);
    const safe = await runSeeds(redlockClockJump, 'safe', 1, 10);
    expect(meanOf(unsafe, 'holdersAtOnce')).toBe(2);
    expect(meanOf(safe, 'holdersAtOnce')).toBe(2);
    expect(meanOf(unsafe, 'staleWrites')).toBeGreaterThan(0.5);
    expect(meanOf(safe, 'staleWrites')).toBe(0);
    expect(meanOf(safe, 'writesRejected')).toBe(meanOf(unsafe, 'staleWrites'));
  });

  it('needs the clock jump: without it the second client never gets a quorum', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const run = await runVariant(redlockClockJump, 'unsafe', { seed, knobs: { clockJumpMs: 0 } });
      expect(run.violated).toBe(false);
      expect(run.figures['holdersAtOnce']).toBe(1);
    }
  });
});

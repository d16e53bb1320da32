import { describe, expect, it } from 'vitest';
import { meanOf, runSeeds } from '../testing.js';
import { splitBrainLeader } from './split-brain-leader.js';

describe('the split-brain-leader scenario', () => {
  it('has two leaders at once in both variants, but only the unsafe one accepts their stale writes', async () => {
    const unsafe = await runSeeds(splitBrainLeader, 'unsafe', 1, 10);
    const safe = await runSeeds(splitBrainLeader, 'safe', 1, 10);
    expect(meanOf(unsafe, 'leadersAtOnce')).toBe(2);
    expect(meanOf(safe, 'leadersAtOnce')).toBe(2);
    expect(meanOf(unsafe, 'staleWrites')).toBeGreaterThan(0.5);
    expect(meanOf(safe, 'staleWrites')).toBe(0);
    expect(meanOf(safe, 'writesRejected')).toBeGreaterThan(0.5);
  });
});

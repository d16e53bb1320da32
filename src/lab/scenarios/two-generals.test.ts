import { describe, expect, it } from 'vitest';
import { meanOf, runSeeds } from '../testing.js';
import { twoGenerals } from './two-generals.js';

describe('the two-generals scenario', () => {
  it('loses orders without acknowledgement and duplicates them without de-duplication', async () => {
    const unsafe = await runSeeds(twoGenerals, 'unsafe', 1, 10);
    const textbook = await runSeeds(twoGenerals, 'textbook', 1, 10);
    const safe = await runSeeds(twoGenerals, 'safe', 1, 10);
    expect(meanOf(unsafe, 'lostOrders')).toBeGreaterThan(1);
    expect(meanOf(textbook, 'lostOrders')).toBe(0);
    expect(meanOf(textbook, 'duplicatedOrders')).toBeGreaterThan(1);
    expect(meanOf(safe, 'duplicatedOrders')).toBe(0);
    expect(meanOf(safe, 'messages')).toBeGreaterThan(2 * meanOf(unsafe, 'messages'));
  });
});

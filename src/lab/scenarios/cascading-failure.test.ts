import { describe, expect, it } from 'vitest';
import { meanOf, runSeeds } from '../testing.js';
import { cascadingFailure } from './cascading-failure.js';

describe('cascading-failure scenario', () => {
  it('without protection the front queue grows and local requests fail; with it they do not', async () => {
    const unsafe = await runSeeds(cascadingFailure, 'unsafe', 1, 10);
    const safe = await runSeeds(cascadingFailure, 'safe', 1, 10);
    expect(meanOf(unsafe, 'maxQueued')).toBeGreaterThan(10 * (meanOf(safe, 'maxQueued') + 1));
    expect(meanOf(unsafe, 'independentFailed')).toBeGreaterThan(0);
    expect(meanOf(safe, 'independentFailed')).toBe(0);
  });

  it('the textbook breaker never opens: a hung call is not a failure, so it fails like no breaker', async () => {
    const unsafe = await runSeeds(cascadingFailure, 'unsafe', 1, 10);
    const textbook = await runSeeds(cascadingFailure, 'textbook', 1, 10);
    const safe = await runSeeds(cascadingFailure, 'safe', 1, 10);
    expect(meanOf(textbook, 'breakerOpens')).toBe(0);
    expect(meanOf(safe, 'breakerOpens')).toBeGreaterThan(0);
    expect(meanOf(textbook, 'maxQueued')).toBe(meanOf(unsafe, 'maxQueued'));
  });
});

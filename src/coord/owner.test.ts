import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../core/random.js';
import type { Runtime } from '../core/runtime.js';
import { newOwnerId } from './owner.js';

describe('newOwnerId', () => {
  it('is the 16 random bytes in lowercase hex, and differs per call', () => {
    // newOwnerId reads only `random`; a second generator with the same seed gives the expected bytes.
    const a = { random: new SeededRandom(7) } as unknown as Runtime;
    const b = { random: new SeededRandom(7) };
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const bytes = b.random.bytes(16);
      const hex = Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('');
      const id = newOwnerId(a);
      expect(id).toBe(hex);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(200);
  });
});

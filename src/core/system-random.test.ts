import { describe, expect, it, vi } from 'vitest';
import { RANDOM_POOL_BYTES, SystemRandom } from './system.js';

// Counts the CSPRNG calls behind SystemRandom.bytes (the real getRandomValues still fills the bytes).
const calls = { sizes: [] as number[] };
const realGetRandomValues = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(
  <T extends ArrayBufferView>(array: T): T => {
    calls.sizes.push(array.byteLength);
    return realGetRandomValues(array as unknown as Uint8Array) as unknown as T;
  },
);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('SystemRandom.bytes pool', () => {
  it('draws the CSPRNG a pool at a time, not once per call', () => {
    const r = new SystemRandom();
    calls.sizes.length = 0;
    const per = RANDOM_POOL_BYTES / 16;
    for (let i = 0; i < per * 3; i++) expect(r.bytes(16)).toHaveLength(16);
    expect(calls.sizes).toEqual([RANDOM_POOL_BYTES, RANDOM_POOL_BYTES, RANDOM_POOL_BYTES]);
  });

  it('hands out every byte once: 20,000 owner-sized draws across refills are all distinct', () => {
    const r = new SystemRandom();
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(hex(r.bytes(16)));
    expect(seen.size).toBe(20_000);
  });

  it('refills when a draw does not fit in what is left (odd sizes straddling the end)', () => {
    const r = new SystemRandom();
    calls.sizes.length = 0;
    let total = 0;
    while (total < RANDOM_POOL_BYTES * 2) {
      const b = r.bytes(7);
      expect(b).toHaveLength(7);
      total += 7;
    }
    // 585 draws of 7 fit in a pool of 4,096 (1 byte wasted): ceil(1,171 / 585) = 3 pools.
    expect(calls.sizes).toEqual([RANDOM_POOL_BYTES, RANDOM_POOL_BYTES, RANDOM_POOL_BYTES]);
  });

  it('returns copies: writing to one result never changes a later one', () => {
    const r = new SystemRandom();
    const a = r.bytes(16);
    a.fill(0xff);
    const b = r.bytes(16);
    expect(hex(b)).not.toBe(hex(a));
    expect(b.buffer).not.toBe(a.buffer);
  });

  it('serves large requests straight from the CSPRNG and small zero-length ones empty', () => {
    const r = new SystemRandom();
    calls.sizes.length = 0;
    expect(r.bytes(RANDOM_POOL_BYTES)).toHaveLength(RANDOM_POOL_BYTES);
    expect(calls.sizes).toEqual([RANDOM_POOL_BYTES]);
    expect(r.bytes(0)).toHaveLength(0);
    expect(() => r.bytes(-1)).toThrow(RangeError);
    expect(() => r.bytes(1.5)).toThrow(RangeError);
  });

  it('fills requests beyond Web Crypto’s 65,536-byte limit in chunks, every byte random', () => {
    const r = new SystemRandom();
    calls.sizes.length = 0;
    const big = r.bytes(150_000);
    expect(big).toHaveLength(150_000);
    expect(calls.sizes).toEqual([65_536, 65_536, 150_000 - 2 * 65_536]);
    // A chunk left unfilled would stay zero: 64 zero bytes in a row at its end are p = 2^-512.
    expect(big.subarray(149_936).some((b) => b !== 0)).toBe(true);
    expect(big.subarray(65_472, 65_536).some((b) => b !== 0)).toBe(true);
  });

  it('looks uniform: byte frequencies over 256 KiB of pooled draws stay near 1/256', () => {
    const r = new SystemRandom();
    const counts = new Array<number>(256).fill(0);
    const draws = (256 * 1024) / 16;
    for (let i = 0; i < draws; i++) for (const x of r.bytes(16)) counts[x] = (counts[x] ?? 0) + 1;
    const expected = (draws * 16) / 256;
    // Chi-square with 255 degrees of freedom: p < 1e-9 beyond about 420.
    const chi = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi).toBeLessThan(420);
  });
});

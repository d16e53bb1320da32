/**
 * A seeded, fast pseudo-random generator: xoshiro128** (Blackman and Vigna, 2018), seeded through
 * splitmix32. Every simulated run derives all of its randomness from one seed through this class.
 *
 * @module
 */
import { assert } from './assert.js';
import type { Random } from './runtime.js';
import { rangeError } from './validate.js';

const TWO_POW_32 = 4294967296;

/** splitmix32 step: a good 32-bit mixer used to spread a seed over the generator state. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string: a cheap stable hash for fork labels. */
export function hashString32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The derived operations of {@link Random}, written once over `nextUint32()`.
 * Subclasses supply the raw 32-bit stream and, optionally, a different `bytes()`.
 */
export abstract class RandomBase implements Random {
  /** The next raw 32-bit unsigned value of the stream. */
  abstract nextUint32(): number;
  abstract fork(label: string): Random;

  next(): number {
    // Combine two draws for 53 bits of precision, as a double in [0, 1) can hold.
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  int(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive <= 0 || maxExclusive > TWO_POW_32) {
      throw rangeError('maxExclusive', 'an integer in [1, 2^32]', maxExclusive);
    }
    // Rejection sampling removes the modulo bias.
    const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % maxExclusive;
  }

  float(min: number, max: number): number {
    if (!(max >= min)) throw rangeError('max', `>= min (${min})`, max);
    return min + (max - min) * this.next();
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw rangeError('items.length', '> 0', 0);
    return items[this.int(items.length)] as T;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  exponential(mean: number): number {
    if (!(mean >= 0) || !Number.isFinite(mean)) {
      throw rangeError('mean', 'a finite number >= 0', mean);
    }
    // Inverse transform sampling; 1 - u is in (0, 1], so the logarithm is finite.
    return -mean * Math.log(1 - this.next());
  }

  bytes(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0) throw rangeError('n', 'an integer >= 0', n);
    return this.fillBytes(new Uint8Array(n));
  }

  fillBytes(out: Uint8Array): Uint8Array {
    const n = out.length;
    for (let i = 0; i < n; i += 4) {
      let word = this.nextUint32();
      for (let k = 0; k < 4 && i + k < n; k++) {
        out[i + k] = word & 0xff;
        word >>>= 8;
      }
    }
    return out;
  }
}

/**
 * xoshiro128** seeded from a number or a string. The same seed always yields the same stream.
 *
 * @example
 * const random = new SeededRandom(42);
 * random.int(6); // the same value on every run with seed 42
 */
export class SeededRandom extends RandomBase {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** @param seed any finite number or string; it is hashed into the 128-bit state. */
  constructor(seed: number | string) {
    super();
    let x: number;
    if (typeof seed === 'string') {
      x = hashString32(seed);
    } else {
      if (!Number.isFinite(seed)) throw rangeError('seed', 'a finite number or a string', seed);
      // Fold the high bits in so that seeds beyond 2^32 still differ.
      x = (seed >>> 0) ^ Math.floor(seed / TWO_POW_32);
    }
    this.s0 = x = splitmix32(x);
    this.s1 = x = splitmix32(x);
    this.s2 = x = splitmix32(x);
    this.s3 = splitmix32(x);
    // An all-zero state would be a fixed point; splitmix32 makes that practically impossible.
    assert((this.s0 | this.s1 | this.s2 | this.s3) !== 0, 'xoshiro state must not be all zero');
  }

  /** Builds a generator directly from four state words (used by `fork`). */
  static fromState(s0: number, s1: number, s2: number, s3: number): SeededRandom {
    const r = new SeededRandom(0);
    r.s0 = s0 >>> 0;
    r.s1 = s1 >>> 0;
    r.s2 = s2 >>> 0;
    r.s3 = s3 >>> 0;
    if ((r.s0 | r.s1 | r.s2 | r.s3) === 0) r.s0 = 1;
    return r;
  }

  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  fork(label: string): SeededRandom {
    // Forking does not advance this generator, so adding a fork never shifts other streams.
    const h = hashString32(label);
    return SeededRandom.fromState(
      splitmix32(this.s0 ^ h),
      splitmix32(this.s1 ^ rotl(h, 8)),
      splitmix32(this.s2 ^ rotl(h, 16)),
      splitmix32(this.s3 ^ rotl(h, 24)),
    );
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scheduler, createSimRuntime } from '../sim/index.js';
import {
  ClockCounterOverflowError,
  isClockCounterOverflowError,
  isClockOffsetError,
} from './errors.js';
import type { HlcTimestamp } from './hlc.js';
import {
  HybridLogicalClock,
  compareHlc,
  decodeHlc,
  encodeHlc,
  hlcFromBigInt,
  hlcToBigInt,
} from './hlc.js';

const EPOCH = 1_700_000_000_000;

function setup(options: { maxOffsetMs?: number; maxCounter?: number; offsetMs?: number } = {}) {
  const scheduler = new Scheduler({ seed: 1 });
  const runtime = createSimRuntime(scheduler, 'n', {
    epochMs: EPOCH,
    offsetMs: options.offsetMs ?? 0,
  });
  const { offsetMs: _ignored, ...rest } = options;
  const hlc = new HybridLogicalClock({ nodeId: 'n', runtime, ...rest });
  return { scheduler, runtime, hlc };
}

function ts(wallMs: number, logical: number, node = 'r'): HlcTimestamp {
  return { wallMs, logical, node };
}

describe('HybridLogicalClock (Kulkarni et al. 2014, Figure 5)', () => {
  it('send/local event: l follows physical time, c counts events within one ms', () => {
    const { scheduler, hlc } = setup();
    expect(hlc.now()).toEqual(ts(EPOCH, 0, 'n'));
    expect(hlc.send()).toEqual(ts(EPOCH, 1, 'n'));
    scheduler.runFor(0.5); // pt is floored to whole ms: still EPOCH
    expect(hlc.now()).toEqual(ts(EPOCH, 2, 'n'));
    scheduler.runFor(1);
    expect(hlc.now()).toEqual(ts(EPOCH + 1, 0, 'n'));
  });

  it('receive: each branch of the rule', () => {
    const { scheduler, hlc } = setup();
    hlc.now(); // (EPOCH, 0)
    hlc.now(); // (EPOCH, 1)
    // l = l' = l_m: c := max(c, c_m) + 1.
    expect(hlc.receive(ts(EPOCH, 5))).toEqual(ts(EPOCH, 6, 'n'));
    // l = l_m > l', pt: c := c_m + 1.
    expect(hlc.receive(ts(EPOCH + 200, 3))).toEqual(ts(EPOCH + 200, 4, 'n'));
    // l = l' > l_m, pt: c := c + 1.
    expect(hlc.receive(ts(EPOCH + 100, 9))).toEqual(ts(EPOCH + 200, 5, 'n'));
    // A local event while l' is still ahead of pt keeps l and counts.
    expect(hlc.now()).toEqual(ts(EPOCH + 200, 6, 'n'));
    // pt > l', l_m: c := 0.
    scheduler.runFor(1000);
    expect(hlc.receive(ts(EPOCH + 300, 7))).toEqual(ts(EPOCH + 1000, 0, 'n'));
    expect(hlc.peek()).toEqual(ts(EPOCH + 1000, 0, 'n'));
  });

  it('rejects a remote timestamp too far ahead with ClockOffsetError and keeps its state', () => {
    const { hlc } = setup({ maxOffsetMs: 500 });
    hlc.now();
    expect(hlc.receive(ts(EPOCH + 500, 0)).wallMs).toBe(EPOCH + 500); // exactly at the bound: accepted
    const before = hlc.peek();
    let caught: unknown;
    try {
      hlc.receive(ts(EPOCH + 501, 0));
    } catch (e) {
      caught = e;
    }
    expect(isClockOffsetError(caught)).toBe(true);
    expect(isClockOffsetError(new Error('x'))).toBe(false);
    if (isClockOffsetError(caught)) {
      expect(caught.code).toBe('FAULTLINE_CLOCK_OFFSET');
      expect(caught.remoteWallMs - caught.localWallMs).toBe(501);
    }
    expect(hlc.peek()).toEqual(before);
  });

  it('throws on counter overflow instead of wrapping, leaving the clock unchanged', () => {
    const { hlc } = setup({ maxCounter: 3 });
    for (let i = 0; i <= 3; i++) expect(hlc.now().logical).toBe(i);
    expect(() => hlc.now()).toThrow(ClockCounterOverflowError);
    expect(() => hlc.receive(ts(EPOCH, 3))).toThrow(ClockCounterOverflowError);
    expect(hlc.peek()).toEqual(ts(EPOCH, 3, 'n'));
    let caught: unknown;
    try {
      hlc.receive(ts(EPOCH, 3));
    } catch (e) {
      caught = e;
    }
    expect(isClockCounterOverflowError(caught)).toBe(true);
  });

  it('validates options and remote timestamps', () => {
    expect(() => setup({ maxOffsetMs: -1 })).toThrow(/maxOffsetMs/);
    expect(() => setup({ maxCounter: 0x10000 })).toThrow(/maxCounter/);
    expect(() => setup({ maxOffsetMs: Number.POSITIVE_INFINITY })).not.toThrow();
    const { hlc } = setup();
    expect(() => hlc.receive(ts(EPOCH, 0.5))).toThrow(/logical/);
    expect(() => hlc.receive(ts(EPOCH, 0, ''))).toThrow(/node/);
  });

  it('encodes to strings and bigints that sort like the timestamps', () => {
    expect(encodeHlc(ts(EPOCH, 3, 'a'))).toBe('001700000000000-00003-a');
    expect(decodeHlc('001700000000000-00003-node-1')).toEqual(ts(EPOCH, 3, 'node-1'));
    expect(hlcToBigInt(ts(EPOCH, 3))).toBe((BigInt(EPOCH) << 16n) + 3n);
    expect(hlcFromBigInt(hlcToBigInt(ts(EPOCH, 65535)), 'x')).toEqual(ts(EPOCH, 65535, 'x'));
    expect(() => decodeHlc('1700000000000-3-a')).toThrow(/hlc/);
    expect(() => hlcFromBigInt(-1n, 'x')).toThrow(/value/);
    const arb = fc.record({
      wallMs: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      logical: fc.integer({ min: 0, max: 65535 }),
      node: fc.constantFrom('a', 'b', 'node-10', 'x-y'),
    });
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        expect(decodeHlc(encodeHlc(a))).toEqual(a);
        expect(hlcFromBigInt(hlcToBigInt(a), a.node)).toEqual(a);
        const sa = encodeHlc(a);
        const sb = encodeHlc(b);
        expect(Math.sign(compareHlc(a, b))).toBe(sa < sb ? -1 : sa > sb ? 1 : 0);
        const na = hlcToBigInt(a);
        const nb = hlcToBigInt(b);
        if (na !== nb) expect(na < nb).toBe(compareHlc(a, b) < 0);
      }),
    );
  });

  it('is monotonic, causally consistent and close to physical time under random messaging (property)', () => {
    type Op =
      | { kind: 'local'; node: number }
      | { kind: 'send'; from: number; to: number }
      | { kind: 'deliver'; pick: number }
      | { kind: 'advance'; ms: number };
    const nodeArb = fc.integer({ min: 0, max: 2 });
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('local' as const), node: nodeArb }),
      fc.record({ kind: fc.constant('send' as const), from: nodeArb, to: nodeArb }),
      fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }),
      fc.record({
        kind: fc.constant('advance' as const),
        ms: fc.double({ min: 0, max: 50, noNaN: true }),
      }),
    );
    const offsets = fc.array(fc.integer({ min: -100, max: 100 }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(offsets, fc.array(opArb, { maxLength: 120 }), (offs, ops) => {
        const scheduler = new Scheduler({ seed: 3 });
        const runtimes = offs.map((offsetMs, i) =>
          createSimRuntime(scheduler, `n${i}`, { epochMs: EPOCH, offsetMs }),
        );
        const clocks = runtimes.map(
          (runtime, i) => new HybridLogicalClock({ nodeId: `n${i}`, runtime }),
        );
        const last: (HlcTimestamp | undefined)[] = [undefined, undefined, undefined];
        const inflight: { to: number; stamp: HlcTimestamp }[] = [];
        const record = (i: number, stamp: HlcTimestamp, cause?: HlcTimestamp): void => {
          const prev = last[i];
          if (prev !== undefined) expect(compareHlc(prev, stamp)).toBeLessThan(0); // monotonic
          if (cause !== undefined) expect(compareHlc(cause, stamp)).toBeLessThan(0); // causality
          const pt = Math.floor((runtimes[i] as (typeof runtimes)[number]).clock.wallMs());
          expect(stamp.wallMs).toBeGreaterThanOrEqual(pt);
          expect(stamp.wallMs - pt).toBeLessThanOrEqual(200); // bounded by the largest skew
          last[i] = stamp;
        };
        for (const op of ops) {
          if (op.kind === 'advance') scheduler.runFor(op.ms);
          else if (op.kind === 'local')
            record(op.node, (clocks[op.node] as HybridLogicalClock).now());
          else if (op.kind === 'send') {
            const stamp = (clocks[op.from] as HybridLogicalClock).send();
            record(op.from, stamp);
            inflight.push({ to: op.to, stamp });
          } else if (inflight.length > 0) {
            const [m] = inflight.splice(op.pick % inflight.length, 1);
            if (m === undefined) continue;
            record(m.to, (clocks[m.to] as HybridLogicalClock).receive(m.stamp), m.stamp);
          }
        }
      }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { coalesce } from './server.js';
import type { Entry, RaftMessage } from './types.js';

const e = (index: number, term = 2): Entry => ({ kind: 'normal', index, term, data: null });
const app = (to: string, index: number, n: number, commit: number, term = 2): RaftMessage => ({
  type: 'append',
  from: 'a',
  to,
  term,
  index,
  logTerm: 2,
  entries: Array.from({ length: n }, (_, i) => e(index + 1 + i)),
  commit,
});
const ack = (index: number, reject = false, term = 2): RaftMessage => ({
  type: 'append-resp',
  from: 'b',
  to: 'a',
  term,
  index,
  reject,
  hint: 0,
});

describe('coalesce (merging a Ready’s messages per peer)', () => {
  it('joins contiguous appends to one peer and keeps the latest commit', () => {
    const out = coalesce([
      app('b', 4, 1, 3),
      app('c', 4, 1, 3),
      app('b', 5, 2, 4),
      app('c', 5, 1, 4),
    ]);
    expect(out).toEqual([{ ...app('b', 4, 3, 4) }, { ...app('c', 4, 2, 4) }]);
  });

  it('keeps appends apart when they are not contiguous, of another term, or split by another message', () => {
    const gap = [app('b', 4, 1, 3), app('b', 6, 1, 3)];
    expect(coalesce(gap)).toEqual(gap);
    const terms = [app('b', 4, 1, 3), app('b', 5, 1, 3, 3)];
    expect(coalesce(terms)).toEqual(terms);
    const hb: RaftMessage = {
      type: 'heartbeat',
      from: 'a',
      to: 'b',
      term: 2,
      commit: 3,
      context: null,
    };
    const split = [app('b', 4, 1, 3), hb, app('b', 5, 1, 3)];
    expect(coalesce(split)).toEqual(split);
  });

  it('keeps only the last of successive successful acks, never a rejection', () => {
    expect(coalesce([ack(5), ack(6), ack(9)])).toEqual([ack(9)]);
    const rejected = [ack(5), ack(6, true), ack(7)];
    expect(coalesce(rejected)).toEqual(rejected);
    const older = [ack(5), ack(4)];
    expect(coalesce(older)).toEqual(older);
  });
});

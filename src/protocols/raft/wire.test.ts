import { describe, expect, it } from 'vitest';
import type { RaftMessage } from './types.js';
import { FrameDecoder, RaftWireError, encodeFrame, parseMessage } from './wire.js';

const append: RaftMessage = {
  type: 'append',
  from: 'a',
  to: 'b',
  term: 3,
  index: 4,
  logTerm: 2,
  commit: 4,
  entries: [
    { kind: 'normal', index: 5, term: 3, data: null },
    {
      kind: 'normal',
      index: 6,
      term: 3,
      data: { client: 'c', seq: 1, op: { f: 'put', key: 'k', value: 'v' } },
    },
    { kind: 'conf', index: 7, term: 3, change: { kind: 'add-learner', id: 'd' } },
  ],
};

function frame(version: number, payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length + 1, 0);
  out.writeUInt8(version, 4);
  body.copy(out, 5);
  return out;
}

describe('raft wire format', () => {
  it('round-trips messages split at every byte boundary', () => {
    const bytes = Buffer.concat([
      encodeFrame({ kind: 'hello', from: 'a', http: '127.0.0.1:1' }),
      encodeFrame({ kind: 'raft', msg: append }),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(frames).toEqual([
        { kind: 'hello', from: 'a', http: '127.0.0.1:1' },
        { kind: 'raft', msg: append },
      ]);
    }
  });

  it.each([
    ['an oversized length', Buffer.from([0xff, 0xff, 0xff, 0xff, 1]), /length/],
    ['a zero length', Buffer.from([0, 0, 0, 0, 1]), /length/],
    ['another version', frame(2, '{}'), /version 2/],
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from([0, 0, 0, 3, 1]), Buffer.from([0xc3, 0x28])]),
      /UTF-8/,
    ],
    ['not JSON', frame(1, '{"kind":'), /not JSON/],
    ['an unknown kind', frame(1, '{"kind":"boom"}'), /kind/],
    [
      'a message of an unknown type',
      frame(1, '{"kind":"raft","msg":{"type":"x","from":"a","to":"b","term":1}}'),
      /type/,
    ],
    [
      'a term beyond 2^53',
      frame(
        1,
        '{"kind":"raft","msg":{"type":"timeout-now","from":"a","to":"b","term":9007199254740993}}',
      ),
      /term/,
    ],
  ])('refuses %s with a RaftWireError', (_what, bytes, message) => {
    expect(() => new FrameDecoder().push(bytes)).toThrow(RaftWireError);
    expect(() => new FrameDecoder().push(bytes)).toThrow(message);
  });

  it('refuses entries that are not contiguous, or carry something other than a command', () => {
    const gap = {
      ...append,
      entries: [
        append.type === 'append' ? append.entries[0] : null,
        { kind: 'normal', index: 9, term: 3, data: null },
      ],
    };
    expect(() => parseMessage(gap)).toThrow(/contiguous/);
    const junk = {
      ...append,
      entries: [
        {
          kind: 'normal',
          index: 5,
          term: 3,
          data: { client: 'c', seq: 1, op: { f: 'drop', key: 'k' } },
        },
      ],
    };
    expect(() => parseMessage(junk)).toThrow(/op.f/);
    const misplaced = { ...append, index: 1 };
    expect(() => parseMessage(misplaced)).toThrow(/starts with entry/);
  });
});

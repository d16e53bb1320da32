import { describe, expect, it } from 'vitest';
import { HistoryError } from '../history.js';
import { readEdn } from './edn.js';
import { detectFormat, parseEdn, parseHistory, parseJepsen, parseJson } from './index.js';

/** The error a function throws, for asserting on its fields. */
function thrown(fn: () => unknown): HistoryError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HistoryError) return error;
    throw error;
  }
  throw new Error('expected a HistoryError');
}

describe('EDN reader', () => {
  it('reads maps, vectors, keywords, strings, numbers and nil', () => {
    expect(
      readEdn('{:process 3, :type :ok, :value [1 2], :s "a\\"b", :n nil, :t true, :x -4.5}'),
    ).toEqual({
      process: 3,
      type: 'ok',
      value: [1, 2],
      s: 'a"b',
      n: null,
      t: true,
      x: -4.5,
    });
    expect(readEdn('#{1 2} ; comment')).toEqual([1, 2]);
  });

  it('reports the column of a syntax error', () => {
    expect(() => readEdn('{:a 1')).toThrow(/unexpected end of input at column 6/);
    expect(() => readEdn('{:a @}')).toThrow(/column 5/);
    expect(() => readEdn('"open')).toThrow(/unterminated string/);
    expect(() => readEdn('1 2')).toThrow(/after the value/);
  });
});

describe('Jepsen log reader', () => {
  const log = [
    'INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]',
    'INFO  jepsen.util - 0   :fail   :cas    [1 2]',
    '',
    'INFO  jepsen.util - 1\t:invoke\t:read\tnil',
    'INFO  jepsen.util - 1\t:fail\t:read\t:timed-out',
  ].join('\n');

  it('reads tab- and space-separated lines and keeps line numbers', () => {
    const events = parseJepsen(log);
    expect(events).toHaveLength(4);
    expect(events[0]).toEqual({ process: 0, type: 'invoke', f: 'cas', value: [1, 2], line: 1 });
    expect(events[2]).toMatchObject({
      process: 1,
      type: 'invoke',
      f: 'read',
      value: null,
      line: 4,
    });
    expect(events[3]).toMatchObject({ type: 'fail', value: 'timed-out', line: 5 });
  });

  it('names the line of a malformed entry', () => {
    const e = thrown(() => parseJepsen(`${log}\nINFO  jepsen.util - 2\t:invoke\t:read\t[1`));
    expect(e.line).toBe(6);
    expect(e.message).toMatch(/^line 6: bad value/);
    expect(thrown(() => parseJepsen('garbage')).message).toMatch(/^line 1: not a Jepsen log line/);
    expect(thrown(() => parseJepsen('INFO  jepsen.util - 0\t:done\t:read\tnil')).line).toBe(1);
  });

  it("skips the nemesis's operations, which are not client operations", () => {
    const events = parseJepsen(
      [
        'INFO  jepsen.util - :nemesis\t:info\t:start\tnil',
        'INFO  jepsen.util - 0\t:invoke\t:read\tnil',
        'INFO  jepsen.util - :nemesis\t:info\t:start\t[:isolated {"n1" #{"n2"}}]',
        'INFO  jepsen.util - 0\t:ok\t:read\t3',
      ].join('\n'),
    );
    expect(events.map((e) => [e.process, e.type, e.line])).toEqual([
      [0, 'invoke', 2],
      [0, 'ok', 4],
    ]);
  });
});

describe('EDN history reader', () => {
  it('reads one map per line', () => {
    const events = parseEdn(
      '{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n\n{:process 0, :type :ok, :f :get, :key "1", :value "x"}\n',
    );
    expect(events[1]).toEqual({ process: 0, type: 'ok', f: 'get', key: '1', value: 'x', line: 3 });
  });

  it('names the line of a bad event', () => {
    expect(
      thrown(() =>
        parseEdn('{:process 0, :type :invoke, :f :get}\n{:process 0, :type :done, :f :get}'),
      ).message,
    ).toMatch(/^line 2: type must be/);
    expect(thrown(() => parseEdn('{:process 0, :type :invoke, :f :get}\n{:process 0')).line).toBe(
      2,
    );
    expect(thrown(() => parseEdn('[1 2]')).message).toMatch(/^line 1: not a map/);
  });

  it("skips the nemesis's operations", () => {
    const events = parseEdn(
      '{:process :nemesis, :type :info, :f :start, :value nil}\n{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n',
    );
    expect(events).toEqual([
      { process: 0, type: 'invoke', f: 'get', key: '1', value: null, line: 2 },
    ]);
  });
});

describe('JSON history reader', () => {
  it('reads JSON Lines', () => {
    const events = parseJson(
      '{"process":"a","type":"invoke","f":"write","value":1,"time":5}\n{"process":"a","type":"ok","f":"write","value":1,"time":7}',
    );
    expect(events[0]).toEqual({
      process: 'a',
      type: 'invoke',
      f: 'write',
      value: 1,
      time: 5,
      line: 1,
    });
  });

  it('reads an array and names the line of a bad element', () => {
    const text =
      '[\n  {"process": 0, "type": "invoke", "f": "read"},\n  {"process": 0, "type": "ok", "f": 7}\n]';
    expect(parseJson(text.replace('"f": 7', '"f": "read"'))[1]).toMatchObject({
      type: 'ok',
      line: 3,
    });
    expect(thrown(() => parseJson(text)).message).toMatch(/^line 3: f must be a non-empty string/);
  });

  it('names the line of invalid JSON', () => {
    expect(
      thrown(() => parseJson('{"process":0,"type":"invoke","f":"read"}\n{"process":')).line,
    ).toBe(2);
    // The line of the bad character itself, not of the element it is in.
    expect(thrown(() => parseJson('[\n{"process":0,\n"type":}\n]')).line).toBe(3);
  });
});

describe('format detection', () => {
  it('recognises each format from its first line', () => {
    expect(detectFormat('\nINFO  jepsen.util - 0\t:invoke\t:read\tnil')).toBe('jepsen');
    expect(detectFormat('{:process 0}')).toBe('edn');
    expect(detectFormat('{"process": 0}')).toBe('json');
    expect(detectFormat('[{"process": 0}]')).toBe('json');
    expect(detectFormat('hello')).toBeUndefined();
    expect(parseHistory('  \n')).toEqual([]);
    expect(thrown(() => parseHistory('hello')).message).toMatch(/cannot tell the history format/);
  });
});

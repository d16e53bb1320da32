/**
 * A small reader for the subset of EDN that Jepsen histories use: maps, vectors, lists, sets,
 * keywords, strings, integers, floats, `nil`, `true`, `false`. Keywords become strings without
 * their colon (`:ok` reads as `"ok"`). Integers a double cannot hold exactly read as `bigint`s; the
 * reader never recurses (nesting deeper than a bound is a syntax error).
 *
 * @module
 */

import { maxValueDepth } from '../history.js';
import { setOwn } from './json.js';

/** Raised for text that is not valid EDN; `column` is 1-based. */
export class EdnSyntaxError extends Error {
  override readonly name = 'EdnSyntaxError';
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(`${message} at column ${column}`);
  }
}

/** Marks "no value yet" in {@link Reader.value}'s loop. */
const pending = Symbol('pending');

type Frame =
  | { readonly kind: 'seq'; readonly close: string; readonly value: unknown[] }
  | {
      readonly kind: 'map';
      readonly close: string;
      readonly value: Record<string, unknown>;
      key: string | undefined;
    };

/** An integer as a number when a double holds it exactly, else as a `bigint`. */
function exactInteger(token: string): number | bigint {
  const n = Number(token);
  return Number.isSafeInteger(n) ? n : BigInt(token);
}

const delimiters = new Set([' ', '\t', '\n', '\r', ',', '{', '}', '[', ']', '(', ')', '"', ';']);

class Reader {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  fail(message: string): never {
    throw new EdnSyntaxError(message, this.pos + 1);
  }

  skip(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos] as string;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === ',') this.pos++;
      else if (c === ';') while (this.pos < t.length && t[this.pos] !== '\n') this.pos++;
      else break;
    }
  }

  atEnd(): boolean {
    this.skip();
    return this.pos >= this.text.length;
  }

  /** Reads one value, iteratively: nesting deeper than `maxDepth` is an error, not a crash. */
  value(): unknown {
    const stack: Frame[] = [];
    for (;;) {
      this.skip();
      const top = stack[stack.length - 1];
      const c = this.text[this.pos];
      if (top !== undefined && c === top.close) {
        this.pos++;
        stack.pop();
        if (top.kind === 'map' && top.key !== undefined)
          this.fail('a map needs an even number of forms');
        const done = this.add(stack, top.value);
        if (done !== pending) return done;
        continue;
      }
      if (c === undefined)
        this.fail(top === undefined ? 'unexpected end of input' : `unexpected end of input`);
      const open = this.open(c);
      if (open !== undefined) {
        if (stack.length >= this.maxDepth) this.fail(`nested deeper than ${this.maxDepth} levels`);
        stack.push(open);
        continue;
      }
      const done = this.add(stack, c === '"' ? this.string() : this.atom());
      if (done !== pending) return done;
    }
  }

  /** Starts a collection when `c` opens one. */
  private open(c: string): Frame | undefined {
    if (c === '{') {
      this.pos++;
      return { kind: 'map', close: '}', value: {}, key: undefined };
    }
    if (c === '[' || c === '(') {
      this.pos++;
      return { kind: 'seq', close: c === '[' ? ']' : ')', value: [] };
    }
    if (c === '#' && this.text[this.pos + 1] === '{') {
      this.pos += 2;
      return { kind: 'seq', close: '}', value: [] };
    }
    return undefined;
  }

  /** Adds a finished value to the innermost collection; returns it when there is none. */
  private add(stack: Frame[], value: unknown): unknown {
    const top = stack[stack.length - 1];
    if (top === undefined) return value;
    if (top.kind === 'seq') {
      top.value.push(value);
    } else if (top.key === undefined) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint')
        this.fail('map keys must be keywords, strings or numbers');
      top.key = String(value);
    } else {
      setOwn(top.value, top.key, value);
      top.key = undefined;
    }
    return pending;
  }

  private string(): string {
    const t = this.text;
    let out = '';
    for (let i = this.pos + 1; i < t.length; i++) {
      const c = t[i] as string;
      if (c === '"') {
        this.pos = i + 1;
        return out;
      }
      if (c === '\\') {
        const e = t[++i];
        const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
        const mapped = e === undefined ? undefined : escapes[e];
        if (mapped === undefined) this.fail(`bad escape \\${e ?? ''}`);
        out += mapped;
      } else {
        out += c;
      }
    }
    return this.fail('unterminated string');
  }

  private atom(): unknown {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length && !delimiters.has(t[this.pos] as string)) this.pos++;
    const token = t.slice(start, this.pos);
    if (token.length === 0) this.fail(`unexpected ${JSON.stringify(t[start])}`);
    if (token === 'nil') return null;
    if (token === 'true') return true;
    if (token === 'false') return false;
    if (token.startsWith(':') && token.length > 1) return token.slice(1);
    if (/^[+-]?\d+N?$/.test(token)) return exactInteger(token.replace(/N$/, ''));
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?M?$/.test(token)) return Number(token.replace(/M$/, ''));
    this.pos = start;
    return this.fail(`unknown token ${JSON.stringify(token)}`);
  }
}

/**
 * Reads one EDN value from `text`; trailing non-space text is an error.
 *
 * @example
 * readEdn('{:process 0, :type :ok}'); // { process: 0, type: 'ok' }
 */
export function readEdn(text: string, maxDepth = maxValueDepth): unknown {
  const reader = new Reader(text, maxDepth);
  const value = reader.value();
  if (!reader.atEnd()) reader.fail('unexpected text after the value');
  return value;
}

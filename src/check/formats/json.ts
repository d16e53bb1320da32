/**
 * A JSON reader for histories from elsewhere. `JSON.parse` rounds integers beyond 2^53 (two
 * different values can then compare equal and hide a violation) and the values it builds are
 * walked recursively afterwards; this reader keeps such integers exact as `bigint`s, never
 * recurses (an explicit stack, bounded by `maxDepth`), creates `__proto__` keys as plain data, and
 * reports errors with their line and column.
 *
 * @module
 */
import { maxValueDepth } from '../history.js';

/** Raised for text that is not valid JSON; `line` and `column` are 1-based. */
export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} at column ${column}`);
  }
}

type Frame =
  | { readonly kind: 'array'; readonly value: unknown[] }
  | { readonly kind: 'object'; readonly value: Record<string, unknown>; key: string };

const numberToken = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const escapes: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** Sets `key` as an own data property, even `__proto__` (as `JSON.parse` does). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

/** Reads JSON values from a text, starting anywhere; tracks the line for error messages. */
export class JsonReader {
  private pos: number;
  private lineNo: number;
  private lineStart: number;

  constructor(
    private readonly text: string,
    start = 0,
    line = 1,
    private readonly maxDepth = maxValueDepth,
  ) {
    this.pos = start;
    this.lineNo = line;
    this.lineStart = start;
  }

  /** The 1-based line of the reader's position. */
  get line(): number {
    return this.lineNo;
  }

  /** The reader's offset in the text. */
  get offset(): number {
    return this.pos;
  }

  fail(message: string): never {
    throw new JsonSyntaxError(message, this.lineNo, this.pos - this.lineStart + 1);
  }

  /** Skips white space; returns the next character (`undefined` at the end). */
  skip(): string | undefined {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x0a) {
        this.pos++;
        this.lineNo++;
        this.lineStart = this.pos;
      } else if (c === 0x20 || c === 0x09 || c === 0x0d) {
        this.pos++;
      } else {
        return this.pos < t.length ? (t[this.pos] as string) : undefined;
      }
    }
  }

  /** Consumes `c` (after white space) or fails. */
  expect(c: string): void {
    if (this.skip() !== c) this.fail(`expected ${JSON.stringify(c)}`);
    this.pos++;
  }

  /** Consumes `c` after white space when it is next; returns whether it did. */
  accept(c: string): boolean {
    if (this.skip() !== c) return false;
    this.pos++;
    return true;
  }

  /** Reads one value, iteratively: nesting deeper than `maxDepth` is an error, not a crash. */
  value(): unknown {
    const stack: Frame[] = [];
    for (;;) {
      let done: unknown;
      const c = this.skip();
      if (c === '{' || c === '[') {
        if (stack.length >= this.maxDepth) this.fail(`nested deeper than ${this.maxDepth} levels`);
        this.pos++;
        const close = c === '{' ? '}' : ']';
        if (!this.accept(close)) {
          stack.push(
            c === '{'
              ? { kind: 'object', value: {}, key: this.key() }
              : { kind: 'array', value: [] },
          );
          continue;
        }
        done = c === '{' ? {} : [];
      } else {
        done = this.primitive(c);
      }
      // Hand the finished value to its container; close every container that ends here.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) return done;
        if (top.kind === 'array') top.value.push(done);
        else setOwn(top.value, top.key, done);
        if (this.accept(',')) {
          if (top.kind === 'object') top.key = this.key();
          break;
        }
        this.expect(top.kind === 'array' ? ']' : '}');
        stack.pop();
        done = top.value;
      }
    }
  }

  private key(): string {
    if (this.skip() !== '"') this.fail('expected a string key');
    const key = this.string();
    this.expect(':');
    return key;
  }

  private primitive(c: string | undefined): unknown {
    if (c === undefined) this.fail('unexpected end of input');
    if (c === '"') return this.string();
    for (const [word, value] of [
      ['null', null],
      ['true', true],
      ['false', false],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    numberToken.lastIndex = this.pos;
    const m = numberToken.exec(this.text);
    if (m === null) this.fail(`unexpected ${JSON.stringify(c)}`);
    this.pos += m[0].length;
    const n = Number(m[0]);
    // An integer a double cannot hold exactly stays exact, so different values never compare equal.
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }

  private string(): string {
    const t = this.text;
    let out = '';
    let from = this.pos + 1;
    for (let i = from; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return out + t.slice(from, i);
      }
      if (c < 0x20) {
        this.pos = i;
        this.fail('control character in a string');
      }
      if (c !== 0x5c) continue;
      out += t.slice(from, i);
      const e = t[i + 1];
      if (e === 'u') {
        const hex = t.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          this.pos = i;
          this.fail('bad \\u escape');
        }
        out += String.fromCharCode(parseInt(hex, 16));
        i += 5;
      } else {
        const mapped = e === undefined ? undefined : escapes[e];
        if (mapped === undefined) {
          this.pos = i;
          this.fail(`bad escape \\${e ?? ''}`);
        }
        out += mapped;
        i += 1;
      }
      from = i + 1;
    }
    this.pos = t.length;
    return this.fail('unterminated string');
  }
}

/**
 * Reads one JSON value from `text` (trailing non-space text is an error), keeping integers beyond
 * 2^53 exact as `bigint`s.
 *
 * @example
 * readJson('{"value": 9007199254740993}'); // { value: 9007199254740993n }
 */
export function readJson(text: string, maxDepth = maxValueDepth): unknown {
  const reader = new JsonReader(text, 0, 1, maxDepth);
  const value = reader.value();
  if (reader.skip() !== undefined) reader.fail('unexpected text after the value');
  return value;
}

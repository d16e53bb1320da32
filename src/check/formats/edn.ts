/**
 * A small reader for the subset of EDN that Jepsen histories use: maps, vectors, lists, sets,
 * keywords, strings, integers, floats, `nil`, `true`, `false`. Keywords become strings without
 * their colon (`:ok` reads as `"ok"`).
 *
 * @module
 */

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

const delimiters = new Set([' ', '\t', '\n', '\r', ',', '{', '}', '[', ']', '(', ')', '"', ';']);

class Reader {
  private pos = 0;
  constructor(private readonly text: string) {}

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

  value(): unknown {
    this.skip();
    const c = this.text[this.pos];
    if (c === undefined) this.fail('unexpected end of input');
    if (c === '{') return this.map();
    if (c === '[') return this.sequence(']');
    if (c === '(') return this.sequence(')');
    if (c === '#' && this.text[this.pos + 1] === '{') {
      this.pos++;
      return this.sequence('}');
    }
    if (c === '"') return this.string();
    return this.atom();
  }

  private map(): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    for (;;) {
      this.skip();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return out;
      }
      const key = this.value();
      if (typeof key !== 'string' && typeof key !== 'number')
        this.fail('map keys must be keywords, strings or numbers');
      out[String(key)] = this.value();
    }
  }

  private sequence(close: string): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    for (;;) {
      this.skip();
      if (this.pos >= this.text.length) this.fail(`missing ${close}`);
      if (this.text[this.pos] === close) {
        this.pos++;
        return out;
      }
      out.push(this.value());
    }
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
    if (/^[+-]?\d+N?$/.test(token)) return Number(token.replace(/N$/, ''));
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
export function readEdn(text: string): unknown {
  const reader = new Reader(text);
  const value = reader.value();
  if (!reader.atEnd()) reader.fail('unexpected text after the value');
  return value;
}

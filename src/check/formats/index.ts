/**
 * History readers: Jepsen's etcd logs, EDN histories (Jepsen and Porcupine's key-value logs), and
 * faultline's JSON format (docs/check.md). Each returns {@link HistoryEvent}s that carry the line
 * they came from; malformed input throws a {@link HistoryError} naming the line.
 *
 * @module
 */
import { rangeError } from '../../core/validate.js';
import type { HistoryEvent } from '../history.js';
import { HistoryError, validateEvent } from '../history.js';
import { EdnSyntaxError, readEdn } from './edn.js';
import { JsonReader, JsonSyntaxError, readJson } from './json.js';

/** The history formats the readers understand. */
export type HistoryFormat = 'jepsen' | 'edn' | 'json';

/** Every supported format. */
export const historyFormats: readonly HistoryFormat[] = ['jepsen', 'edn', 'json'];

// The value is taken greedily and trimmed afterwards: a lazy `(.*?)\s*$` backtracks
// quadratically on a long run of spaces, which a hostile file can contain.
const jepsenLine =
  /^INFO\s+jepsen\.util\s+-\s+(\S+)\s+:(invoke|ok|fail|info)\s+:([\w-]+)(?:\s+(.*))?$/;

function lines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** Reads a Jepsen value as logged by `jepsen.util`: nil, an integer, a keyword, or `[a b]`. */
function jepsenValue(raw: string, line: number): unknown {
  try {
    return readEdn(raw);
  } catch (error) {
    const why = error instanceof EdnSyntaxError ? error.message : String(error);
    throw new HistoryError(`bad value ${JSON.stringify(raw)}: ${why}`, line);
  }
}

/**
 * Reads a Jepsen log (`INFO  jepsen.util - <process> :<type> :<f> <value>` per line, tabs or
 * spaces). Blank lines and the nemesis's operations (process `:nemesis`) are skipped.
 *
 * @example
 * parseJepsen('INFO  jepsen.util - 0\t:invoke\t:read\tnil\n');
 */
export function parseJepsen(text: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  lines(text).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    const m = jepsenLine.exec(raw);
    if (m === null)
      throw new HistoryError(`not a Jepsen log line: ${JSON.stringify(raw.slice(0, 80))}`, line);
    const [, processText = '', type = '', f = '', valueText = ''] = m;
    // The nemesis (Jepsen's fault injector) logs its own operations; they are not client
    // operations on the object under test, and Jepsen's checkers leave them out too.
    if (processText === ':nemesis') return;
    const process = /^-?\d+$/.test(processText) ? exactInteger(processText) : processText;
    const trimmed = valueText.trimEnd();
    const value = trimmed === '' ? null : jepsenValue(trimmed, line);
    events.push(validateEvent({ process, type, f, value, line }, { line, index: events.length }));
  });
  return events;
}

/** An integer as a number when a double holds it exactly, else as a `bigint`. */
function exactInteger(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

/** Turns a map read from EDN or JSON into an event, naming the line on error. */
function toEvent(raw: unknown, line: number | undefined, index: number): HistoryEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HistoryError(
      line === undefined ? `event ${index}: not an object` : 'not a map/object',
      line,
    );
  }
  const r = raw as Record<string, unknown>;
  const event: Record<string, unknown> = {
    process: r['process'],
    type: r['type'],
    f: r['f'],
    value: r['value'] ?? null,
  };
  if (r['key'] !== undefined && r['key'] !== null)
    event['key'] =
      typeof r['key'] === 'number' || typeof r['key'] === 'bigint' ? String(r['key']) : r['key'];
  if (r['time'] !== undefined) event['time'] = r['time'];
  if (line !== undefined) event['line'] = line;
  return validateEvent(event, line === undefined ? { index } : { line, index });
}

/**
 * Reads an EDN history: one map per line, as Jepsen and Porcupine's key-value logs write it
 * (`{:process 0, :type :invoke, :f :get, :key "1", :value nil}`). Blank lines and the nemesis's
 * operations (`:process :nemesis`) are skipped.
 */
export function parseEdn(text: string): HistoryEvent[] {
  return perLine(
    text,
    (raw) => readEdn(raw),
    '',
    (value) => !isNemesis(value),
  );
}

/** True for an operation of Jepsen's nemesis (`:process :nemesis`), which is not a client's. */
function isNemesis(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)['process'] === 'nemesis'
  );
}

/**
 * Reads one event per non-blank line with `read`, naming the line when it throws (its message
 * after `prefix`) or when the value is not an event. Values `keep` rejects are skipped.
 */
function perLine(
  text: string,
  read: (raw: string) => unknown,
  prefix: string,
  keep: (value: unknown) => boolean = () => true,
): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  lines(text).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = read(raw);
    } catch (error) {
      throw new HistoryError(
        prefix + (error instanceof Error ? error.message : String(error)),
        line,
      );
    }
    if (keep(value)) events.push(toEvent(value, line, events.length));
  });
  return events;
}

/**
 * Reads faultline's JSON history: either JSON Lines (one event object per line) or one JSON array
 * of event objects. See docs/check.md for the event fields. Integers beyond 2^53 stay exact
 * (`bigint`s).
 */
export function parseJson(text: string): HistoryEvent[] {
  const start = text.search(/\S/);
  if (start >= 0 && text[start] === '[') return parseJsonArray(text, start);
  return perLine(text, (raw) => readJson(raw), 'invalid JSON: ');
}

/** Reads `[event, event, ...]`, each element with the line it starts on. */
function parseJsonArray(text: string, start: number): HistoryEvent[] {
  const reader = new JsonReader(text, start, lineAt(text, start));
  const events: HistoryEvent[] = [];
  try {
    reader.expect('[');
    if (!reader.accept(']')) {
      do {
        reader.skip();
        const line = reader.line;
        events.push(toEvent(reader.value(), line, events.length));
      } while (reader.accept(','));
      reader.expect(']');
    }
    if (reader.skip() !== undefined) reader.fail('unexpected text after the array');
  } catch (error) {
    if (error instanceof JsonSyntaxError) {
      throw new HistoryError(`invalid JSON: ${error.message}`, error.line);
    }
    throw error;
  }
  return events;
}

/** The 1-based line of a character offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Guesses the format from the first non-blank line; `undefined` when nothing fits. */
export function detectFormat(text: string): HistoryFormat | undefined {
  const first = lines(text)
    .find((l) => l.trim() !== '')
    ?.trim();
  if (first === undefined) return undefined;
  if (first.startsWith('INFO') && first.includes('jepsen')) return 'jepsen';
  if (first.startsWith('{:') || first.startsWith('[{:')) return 'edn';
  if (first.startsWith('{') || first.startsWith('[')) return 'json';
  return undefined;
}

/**
 * Reads a history in `format`, or in the detected format when none is given. An empty text is an
 * empty history.
 */
export function parseHistory(text: string, format?: HistoryFormat): HistoryEvent[] {
  const chosen = format ?? detectFormat(text);
  if (chosen === undefined) {
    if (text.trim() === '') return [];
    throw new HistoryError('cannot tell the history format (use --format jepsen|edn|json)', 1);
  }
  switch (chosen) {
    case 'jepsen':
      return parseJepsen(text);
    case 'edn':
      return parseEdn(text);
    case 'json':
      return parseJson(text);
    default:
      throw rangeError('format', historyFormats.map((f) => JSON.stringify(f)).join(' | '), chosen);
  }
}

/**
 * Text that came from elsewhere (a history file, a command-line argument) on its way to a
 * terminal: control characters could move the cursor, rewrite earlier lines or change the
 * terminal's settings, and a multi-megabyte line would bury the message.
 *
 * @module
 */

/** The longest message (in characters) {@link terminalSafe} lets through by default. */
export const maxMessageChars = 400;

// C0 controls (tab excepted), DEL, C1 controls, and the Unicode bidirectional overrides and
// isolates, which reorder what a terminal shows ("Trojan Source", CVE-2021-42574).
const unsafe =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point here.
  /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escape(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * `text` with its control characters escaped (`\n`, `\r`, `\u001b`...) and cut to `maxChars`
 * characters, ending with an ellipsis and how much was cut.
 *
 * @example
 * terminalSafe('bad\x1b[2J value'); // 'bad\\u001b[2J value'
 */
export function terminalSafe(text: string, maxChars = maxMessageChars): string {
  const cut = text.length > maxChars ? text.slice(0, maxChars) : text;
  // Never end on half a surrogate pair.
  const whole = /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
  const safe = whole.replace(unsafe, escape);
  return text.length > maxChars ? `${safe}… (${text.length - whole.length} more characters)` : safe;
}

/**
 * A one-line progress display on stderr, for long commands, drawn only when stderr is a terminal
 * (a log file or a pipe gets nothing) and at most ten times a second.
 *
 * @module
 */
import type { Clock } from '../core/runtime.js';
import type { CommandIo } from './command.js';
import { terminalSafe } from './text.js';

/** A progress line: `update` redraws it (throttled), `done` erases it. */
export interface ProgressLine {
  update(text: () => string): void;
  done(): void;
}

const intervalMs = 100;

/** A progress line on `io.err`, or `undefined` when stderr is not a terminal. */
export function progressLine(io: CommandIo, clock: Clock): ProgressLine | undefined {
  if (io.errIsTty !== true) return undefined;
  let last = -Infinity;
  let drawn = false;
  return {
    update(text) {
      const now = clock.monotonicMs();
      if (now - last < intervalMs) return;
      last = now;
      drawn = true;
      io.err(`\r\x1b[K${terminalSafe(text(), 120)}`);
    },
    done() {
      if (drawn) io.err('\r\x1b[K');
      drawn = false;
    },
  };
}

/**
 * The contract between the `faultline` command and the features that add subcommands.
 *
 * @module
 */

/** Exit codes shared by every subcommand (BSD sysexits where one fits). */
export const exitCodes = Object.freeze({
  ok: 0,
  /** The command line is wrong: unknown command, bad flag, bad value. */
  usage: 64,
  /** The input data is malformed. */
  dataError: 65,
  /** An input file cannot be opened. */
  noInput: 66,
  /** An unexpected internal failure. */
  software: 70,
});

/** Thrown by a subcommand for a bad command line; `main` prints it and exits 64. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where a subcommand writes; tests pass buffers instead of the process streams. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  /** True when `err` is a terminal: long commands then draw a progress line there. */
  readonly errIsTty?: boolean;
}

/** A subcommand of `faultline`. */
export interface Command {
  /** The word that selects it: `faultline <name> ...`. */
  readonly name: string;
  /** One line for `faultline --help`. */
  readonly summary: string;
  /** Full usage text for `faultline <name> --help`. */
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: readonly string[], io: CommandIo): Promise<number>;
}

/**
 * Command-line helpers shared by the subcommands: strict flag parsing and flag values checked
 * with a message that names the flag and the value (the caller's `runCli` turns the
 * {@link UsageError} into exit code 64).
 *
 * @module
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { CheckResult } from '../check/checker.js';
import { UsageError } from './command.js';

/**
 * Parses `argv` strictly (an unknown flag or a missing value is a usage error) and allows
 * positionals, which the caller counts.
 *
 * @example
 * const { values, positionals } = parseFlags(argv, { json: { type: 'boolean', default: false } });
 */
export function parseFlags<const T extends Flags>(
  argv: readonly string[],
  options: T,
): ParsedFlags<T> {
  try {
    return parseArgs<StrictConfig<T>>({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options,
    });
  } catch (error) {
    // `--timeout-ms -5`: parseArgs refuses a value starting with a dash, and its first line alone
    // ("argument is ambiguous") does not say how to pass one.
    const message = error instanceof Error ? error.message : '';
    const flag = /^Option '(--[\w-]+)'[^\n]* argument is ambiguous/.exec(message)?.[1];
    if (flag === undefined) throw error;
    throw new UsageError(
      `${flag} needs a value (write ${flag}=VALUE for one that starts with "-")`,
    );
  }
}

type StrictConfig<T extends Flags> = {
  args: string[];
  allowPositionals: true;
  strict: true;
  options: T;
};

/** What {@link parseFlags} returns: the typed flag values and the positionals. */
export type ParsedFlags<T extends Flags> = ReturnType<typeof parseArgs<StrictConfig<T>>>;

/** The flag declarations {@link parseFlags} takes (those of `node:util` `parseArgs`). */
export type Flags = NonNullable<ParseArgsConfig['options']>;

/** The flag's value when it is one of `allowed`, `undefined` when absent; else a usage error. */
export function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(
      `--${flag} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`,
    );
  }
  return value as T;
}

/**
 * The flag's value as a safe integer in [`min`, `max`], `undefined` when absent; else a usage
 * error naming the flag, the bounds and the value.
 */
export function integerFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new UsageError(`--${flag} must be an integer ${range} (got ${JSON.stringify(value)})`);
  }
  return n;
}

/** Exit codes of the commands that end with a checker verdict (`check`, `sim --check`). */
export const verdictExitCodes = Object.freeze({
  /** Linearizable (or sequentially consistent with `--criterion sequential`). */
  legal: 0,
  /** Not linearizable (not sequentially consistent). */
  illegal: 1,
  /** Undecided: the timeout passed or the search hit its cache bound. */
  unknown: 2,
  /** An output file could not be written (BSD EX_CANTCREAT). */
  cannotCreate: 73,
});

/** The exit code of a checker verdict: 0 legal, 1 illegal, 2 unknown. */
export function verdictExitCode(result: CheckResult): number {
  if (result.kind === 'legal') return verdictExitCodes.legal;
  return result.kind === 'illegal' ? verdictExitCodes.illegal : verdictExitCodes.unknown;
}

#!/usr/bin/env node
/**
 * The `faultline` executable.
 *
 * @module
 */
import { exitCodes } from './command.js';
import { commands } from './registry.js';
import { runCli } from './run.js';

const io = {
  out: (text: string) => void process.stdout.write(text),
  err: (text: string) => void process.stderr.write(text),
  errIsTty: process.stderr.isTTY,
};

runCli(process.argv.slice(2), commands, io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `faultline: internal error: ${String((error as Error)?.stack ?? error)}\n`,
    );
    process.exitCode = exitCodes.software;
  },
);

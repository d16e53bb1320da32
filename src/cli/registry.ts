/**
 * The list of subcommands. Each feature that lands adds its command here.
 *
 * @module
 */
import { checkCommand } from './check.js';
import type { Command } from './command.js';
import { labCommand } from './lab.js';
import { raftCommand } from './raft.js';
import { simCommand } from './sim.js';
import { swimCommand } from './swim.js';

/** Every subcommand, in the order `--help` lists them. */
export const commands: readonly Command[] = [
  labCommand,
  checkCommand,
  simCommand,
  swimCommand,
  raftCommand,
];

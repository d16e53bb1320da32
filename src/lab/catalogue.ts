/**
 * The lab's catalogue: every scenario, in the order the table lists them. Adding a scenario is
 * one module in `scenarios/` and one line here.
 *
 * @module
 */
import type { Scenario } from './types.js';
import { lostWrite } from './scenarios/lost-write.js';
import { staleRead } from './scenarios/stale-read.js';
import { leaseGcPause } from './scenarios/lease-gc-pause.js';
import { splitBrainLeader } from './scenarios/split-brain-leader.js';
import { twoGenerals } from './scenarios/two-generals.js';
import { redlockClockJump } from './scenarios/redlock-clock-jump.js';

/** Every scenario of the lab. */
export const catalogue: readonly Scenario[] = [
  lostWrite,
  staleRead,
  twoGenerals,
  leaseGcPause,
  splitBrainLeader,
  redlockClockJump,
];

/** The scenario named `name`, or undefined. */
export function scenarioByName(name: string): Scenario | undefined {
  return catalogue.find((s) => s.name === name);
}

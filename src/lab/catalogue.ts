/**
 * The lab's catalogue: every scenario, in the order the table lists them. Adding a scenario is
 * one module in `scenarios/` and one line here.
 *
 * @module
 */
import type { Scenario } from './types.js';
import { lostWrite } from './scenarios/lost-write.js';
import { retryStorm } from './scenarios/retry-storm.js';
import { cascadingFailure } from './scenarios/cascading-failure.js';
import { tailLatency } from './scenarios/tail-latency.js';
import { readiness } from './scenarios/readiness.js';

/** Every scenario of the lab. */
export const catalogue: readonly Scenario[] = [
  lostWrite,
  retryStorm,
  cascadingFailure,
  tailLatency,
  readiness,
];

/** The scenario named `name`, or undefined. */
export function scenarioByName(name: string): Scenario | undefined {
  return catalogue.find((s) => s.name === name);
}

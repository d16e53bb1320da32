/**
 * What the transaction tests share (not part of the package: the build leaves this file out).
 *
 * @module
 */
import type { Simulation } from '../sim/simulation.js';

/**
 * Runs the simulation until `promise` settles (timeouts and retries run in virtual time, up to
 * 60 s of it) and returns its value, or its error when it rejects.
 */
export async function settle<T>(sim: Simulation, promise: Promise<T>): Promise<T | unknown> {
  let out: { v: T } | { e: unknown } | undefined;
  promise.then(
    (v) => (out = { v }),
    (e: unknown) => (out = { e }),
  );
  await sim.run({ until: () => out !== undefined, untilMs: 60_000 });
  if (out === undefined) throw new Error('did not settle');
  return 'v' in out ? out.v : out.e;
}

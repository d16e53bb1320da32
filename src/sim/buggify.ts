/**
 * FoundationDB-style `buggify` points: code under test asks "should I misbehave here?" and gets
 * `false` in production, and a seeded answer inside a simulation that enabled buggify. Each site is
 * enabled or disabled once per seed, so a seed explores a particular combination of odd paths.
 *
 * @module
 */
import type { Random, Runtime } from '../core/runtime.js';
import { numberIn } from '../core/validate.js';

/** Options of buggify in a simulation. */
export interface BuggifyOptions {
  /** Turn buggify points on for this run (default false: every point returns false). */
  enabled?: boolean;
  /**
   * Probability in [0, 1] that a given site is enabled for this seed (default 0.25, as in
   * FoundationDB). Lower values explore fewer odd paths per run but combine them less.
   */
  siteProbability?: number;
}

/** Decides buggify points of one simulation. */
export class BuggifyController {
  readonly enabled: boolean;
  private readonly siteProbability: number;
  private readonly random: Random;
  /** Never drawn from: site decisions fork it, so they depend only on the seed and the site name. */
  private readonly siteRoot: Random;
  private readonly sites = new Map<string, boolean>();
  private fired = 0;

  /** @param random a stream forked from the run's seed for buggify alone. */
  constructor(random: Random, options: BuggifyOptions = {}) {
    this.random = random;
    this.siteRoot = random.fork('sites');
    this.enabled = options.enabled ?? false;
    this.siteProbability = numberIn(
      'buggify.siteProbability',
      options.siteProbability ?? 0.25,
      0,
      1,
    );
  }

  /** How many times a point fired in this run. */
  get firedCount(): number {
    return this.fired;
  }

  /** True when `site` is enabled for this seed (decided once, from the site name and the seed). */
  isSiteEnabled(site: string): boolean {
    let on = this.sites.get(site);
    if (on === undefined) {
      on = this.enabled && this.siteRoot.fork(site).next() < this.siteProbability;
      this.sites.set(site, on);
    }
    return on;
  }

  /** Draws whether `site` fires now: only when enabled, then with `probability`. */
  fire(site: string, probability: number): boolean {
    numberIn('probability', probability, 0, 1);
    if (!this.enabled || !this.isSiteEnabled(site)) return false;
    const hit = this.random.next() < probability;
    if (hit) this.fired++;
    return hit;
  }
}

const controllers = new WeakMap<object, BuggifyController>();

/** @internal Links a simulated runtime's random stream to its simulation's buggify controller. */
export function registerBuggify(random: Random, controller: BuggifyController): void {
  controllers.set(random, controller);
}

/**
 * Returns true when the buggify point `site` should misbehave now. Always false under the system
 * runtime (or no runtime); inside a simulation with buggify enabled, the site is on for some
 * seeds and then fires with `probability` (default 0.25), drawn from the run's seed.
 *
 * @example
 * if (buggify(this.runtime, 'log.append.slow')) await this.runtime.timers.sleep(50);
 */
export function buggify(runtime: Runtime | undefined, site: string, probability = 0.25): boolean {
  // Validated before anything else, so a bad probability fails in production as in simulation.
  numberIn('probability', probability, 0, 1);
  if (runtime === undefined) return false;
  return controllers.get(runtime.random)?.fire(site, probability) ?? false;
}

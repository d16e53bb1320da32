/**
 * The `faultline.breaker.state` gauge: how many of the tracked circuit breakers are in each state,
 * read when the meter collects. Breakers are held weakly and their number is bounded.
 *
 * @module
 */
import type { Attributes, Meter, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import type { BreakerState, CircuitBreaker } from '../resilience/breaker.js';

const STATES: readonly BreakerState[] = ['closed', 'half-open', 'open'];

/** Tracks circuit breakers and reports their states on collection. */
export class BreakerGauge {
  private readonly gauge: ObservableGauge;
  private readonly seen = new WeakSet<CircuitBreaker>();
  private refs: WeakRef<CircuitBreaker>[] = [];
  private readonly observe = (result: ObservableResult): void => this.report(result);

  constructor(
    meter: Meter,
    private readonly nameOf: (target: object) => string | undefined,
    private readonly max: number,
  ) {
    this.gauge = meter.createObservableGauge('faultline.breaker.state', {
      description: 'Tracked circuit breakers in each state (closed, half-open, open).',
      unit: '{breaker}',
    });
    this.gauge.addCallback(this.observe);
  }

  /** Starts tracking `breaker` (once; ignored past the bound). */
  track(breaker: CircuitBreaker): void {
    if (this.seen.has(breaker)) return;
    if (this.refs.length >= this.max) this.prune();
    if (this.refs.length >= this.max) return;
    this.seen.add(breaker);
    this.refs.push(new WeakRef(breaker));
  }

  dispose(): void {
    this.gauge.removeCallback(this.observe);
    this.refs = [];
  }

  private prune(): void {
    this.refs = this.refs.filter((ref) => ref.deref() !== undefined);
  }

  private report(result: ObservableResult): void {
    // Counts per (name, state); every state of every name is reported, zeros included.
    const counts = new Map<string | undefined, Map<BreakerState, number>>();
    this.prune();
    for (const ref of this.refs) {
      const breaker = ref.deref();
      if (breaker === undefined) continue;
      const name = this.nameOf(breaker);
      let byState = counts.get(name);
      if (byState === undefined) {
        byState = new Map(STATES.map((s) => [s, 0]));
        counts.set(name, byState);
      }
      const state = breaker.state;
      byState.set(state, (byState.get(state) ?? 0) + 1);
    }
    for (const [name, byState] of counts) {
      for (const [state, n] of byState) {
        const attributes: Attributes = { 'faultline.breaker.state': state };
        if (name !== undefined) attributes['faultline.name'] = name;
        result.observe(n, attributes);
      }
    }
  }
}

/**
 * The contract shared by the failure detectors, and a bounded registry that keeps one detector per
 * monitored node.
 *
 * @module
 */
import { integerIn, rangeError } from '../core/validate.js';

/**
 * A failure detector for one monitored process, in the style of Akka's `FailureDetector`: feed it
 * every heartbeat, ask it whether the process is available. Before the first heartbeat a detector
 * is not monitoring yet and reports the process available.
 */
export interface FailureDetector {
  /** Records the arrival of a heartbeat now (the runtime's monotonic clock). */
  heartbeat(): void;
  /** True unless the detector suspects the process has failed. */
  isAvailable(): boolean;
  /** True once the first heartbeat arrived. */
  readonly isMonitoring: boolean;
}

/** Options of a {@link FailureDetectorRegistry}. */
export interface FailureDetectorRegistryOptions {
  /**
   * Most nodes tracked at once (default 10,000). A heartbeat from one more node throws a
   * `RangeError`: remove departed nodes with {@link FailureDetectorRegistry.remove}.
   */
  maxNodes?: number;
}

/**
 * One detector per node, created on the node's first heartbeat by `create`. Unknown nodes are
 * reported available (they are not monitored).
 *
 * @example
 * const registry = new FailureDetectorRegistry((node) => new PhiAccrualDetector({ runtime }));
 * registry.heartbeat('node-2');
 * if (!registry.isAvailable('node-2')) markDown('node-2');
 */
export class FailureDetectorRegistry<K = string> {
  private readonly detectors = new Map<K, FailureDetector>();
  private readonly create: (node: K) => FailureDetector;
  private readonly maxNodes: number;

  constructor(create: (node: K) => FailureDetector, options: FailureDetectorRegistryOptions = {}) {
    if (typeof create !== 'function') throw rangeError('create', 'a function', create);
    this.create = create;
    this.maxNodes = integerIn('maxNodes', options.maxNodes ?? 10_000, 1, 10_000_000);
  }

  /** Number of monitored nodes. */
  get size(): number {
    return this.detectors.size;
  }

  /** Records a heartbeat from `node`. */
  heartbeat(node: K): void {
    let detector = this.detectors.get(node);
    if (detector === undefined) {
      if (this.detectors.size >= this.maxNodes) {
        throw rangeError('nodes', `at most maxNodes (${this.maxNodes})`, this.detectors.size + 1);
      }
      detector = this.create(node);
      this.detectors.set(node, detector);
    }
    detector.heartbeat();
  }

  /** True unless `node` is monitored and suspected. */
  isAvailable(node: K): boolean {
    return this.detectors.get(node)?.isAvailable() ?? true;
  }

  /** True when `node` has sent at least one heartbeat and was not removed. */
  isMonitoring(node: K): boolean {
    return this.detectors.get(node)?.isMonitoring ?? false;
  }

  /** The detector of `node`, if monitored. */
  get(node: K): FailureDetector | undefined {
    return this.detectors.get(node);
  }

  /** Stops monitoring `node` (e.g. it left the cluster); its history is forgotten. */
  remove(node: K): void {
    this.detectors.delete(node);
  }
}

/**
 * Failure detection: heartbeat timeouts, phi accrual, adaptive timeouts, latency quantiles and
 * health checks.
 *
 * @module
 */
export { LatencyQuantiles } from './quantile.js';
export type { LatencyQuantilesOptions } from './quantile.js';
export { FailureDetectorRegistry } from './detector.js';
export type { FailureDetector, FailureDetectorRegistryOptions } from './detector.js';
export { TimeoutDetector, HeartbeatSender } from './heartbeat.js';
export type { TimeoutDetectorOptions, HeartbeatSenderOptions } from './heartbeat.js';
export { PhiAccrualDetector, phiOf } from './phi.js';
export type { PhiAccrualDetectorOptions } from './phi.js';
export { AdaptiveTimeout, AdaptiveTimeoutDetector } from './adaptive.js';
export type { AdaptiveTimeoutOptions, AdaptiveTimeoutDetectorOptions } from './adaptive.js';
export { HealthRegistry } from './health.js';
export type {
  CheckOutcome,
  CheckReport,
  HealthCheckFn,
  HealthRegistryOptions,
  HealthReport,
  HealthStatus,
  ReadinessSource,
} from './health.js';

/**
 * Failure detection: heartbeat timeouts, phi accrual, adaptive timeouts, latency quantiles and
 * health checks.
 *
 * @module
 */
export { LatencyQuantiles } from './quantile.js';
export type { LatencyQuantilesOptions } from './quantile.js';

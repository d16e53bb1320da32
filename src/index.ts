/**
 * faultline: the runtime seam, logical clocks, failure detectors, resilience policies and caching.
 * Coordination, transactions, the simulator and the checker live in their own subpath exports
 * (`faultline/coord`, `faultline/sim`, `faultline/check`, ...).
 *
 * @module faultline
 */
export * from './core/index.js';
export * from './clocks/index.js';
export * from './detect/index.js';
export * from './resilience/index.js';
export * from './cache/index.js';

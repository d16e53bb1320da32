/**
 * The lab (`faultline/lab`): every classic problem of distributed systems as an unsafe and a safe
 * variant of production code, run in the simulator from a seed and decided by a checker.
 *
 * @module faultline/lab
 */
export type {
  Evidence,
  FigureDirection,
  FigureSpec,
  KnobSpec,
  LabContext,
  Scenario,
  Variant,
  VariantName,
  VariantOutcome,
} from './types.js';
export { variantNames } from './types.js';
export {
  DEFAULT_SEEDS,
  MAX_SEEDS,
  LabScenarioError,
  isLabScenarioError,
  labPassed,
  resolveKnobs,
  runLab,
  runVariant,
  variantsOf,
} from './run.js';
export type {
  LabProgress,
  RunLabOptions,
  RunVariantOptions,
  ScenarioSummary,
  VariantRun,
  VariantSummary,
} from './run.js';
export { historyVerdict, percentile } from './checks.js';
export type { HistoryVerdict } from './checks.js';
export { catalogue, scenarioByName } from './catalogue.js';
export { buildReport, diagramSeed, scenarioMeta } from './report.js';
export type {
  BuildReportOptions,
  LabReport,
  ScenarioMeta,
  ScenarioReport,
  VariantMeta,
} from './report.js';

/**
 * `faultline/check`: histories, the linearizability (and sequential consistency) checker, models,
 * history readers, the HTML visualisation and invariant checkers for simulations.
 *
 * @module faultline/check
 */
export type { EventType, HistoryEvent, Operation, ProcessId, Status } from './history.js';
export { HistoryError, isHistoryError, toOperations, validateEvent } from './history.js';
export type { AnyModel, Model, ModelInput, ModelOutput, StepResult } from './model.js';
export { deepEqual, hashValue, hashStringFrom, fnvSeed, illegal, mix32 } from './model.js';
export type {
  CheckOptions,
  CheckProgress,
  CheckResult,
  Counterexample,
  Criterion,
  ResultBase,
} from './checker.js';
export { check } from './checker.js';
export type { ExplainOptions } from './report.js';
export { explainResult } from './report.js';
export type {
  KvState,
  ModelName,
  MutexState,
  RegisterOptions,
  RegisterValue,
  SetState,
} from './models.js';
export { casRegister, kv, modelByName, modelNames, mutex, queue, register, set } from './models.js';
export type { HistoryFormat } from './formats/index.js';
export {
  detectFormat,
  historyFormats,
  parseEdn,
  parseHistory,
  parseJepsen,
  parseJson,
} from './formats/index.js';
export { EdnSyntaxError, readEdn } from './formats/edn.js';
export type { HtmlOptions } from './html.js';
export { renderHtml } from './html.js';
export type { ExampleHistory } from './examples.js';
export { staleReadExample } from './examples.js';
export type { Invariant, InvariantOutcome, Violation } from './invariant.js';
export { InvariantChecker, invariant } from './invariant.js';

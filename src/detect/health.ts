/**
 * Liveness and readiness checks with a `node:http` handler (`/health`, `/ready`).
 *
 * Liveness answers "should this process be restarted?" and should only fail when the process is
 * wedged; readiness answers "should it receive traffic?" and also fails while a dependency is
 * down (a circuit breaker open, a database unreachable) or while the process drains on shutdown.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Disposable } from '../core/events.js';
import { disposable } from '../core/events.js';
import type { Runtime } from '../core/runtime.js';
import { systemRuntime } from '../core/system.js';
import { integerIn, nonEmptyString, positive, rangeError } from '../core/validate.js';

/** Up or down. */
export type HealthStatus = 'up' | 'down';

/** What a check may return: a boolean, or a status with a short detail for the report. */
export type CheckOutcome = boolean | { status: HealthStatus; detail?: string };

/**
 * A check. It receives a signal that aborts when the check times out; it may be synchronous.
 * A throw or a rejection counts as down.
 */
export type HealthCheckFn = (signal: AbortSignal) => CheckOutcome | Promise<CheckOutcome>;

/** Anything whose readiness can be read synchronously, e.g. a circuit breaker wrapper. */
export interface ReadinessSource {
  isReady(): boolean;
}

/** One check's line in a {@link HealthReport}. */
export interface CheckReport {
  status: HealthStatus;
  /** Time the check took, in ms of the runtime's monotonic clock. */
  durationMs: number;
  detail?: string;
}

/** The body of `/health` and `/ready`. */
export interface HealthReport {
  status: HealthStatus;
  checks: Record<string, CheckReport>;
}

/** Options of a {@link HealthRegistry}. */
export interface HealthRegistryOptions {
  /** Default per-check timeout, in ms (default 2000). A check that takes longer counts as down. */
  checkTimeoutMs?: number;
  /** Most checks registered at once (default 100). */
  maxChecks?: number;
  /** Timers and clock for timeouts and durations. Default: the system runtime. */
  runtime?: Runtime;
}

interface Registered {
  kind: 'liveness' | 'readiness';
  fn: HealthCheckFn;
  timeoutMs: number;
}

/**
 * A registry of liveness and readiness checks. Readiness is the conjunction of the readiness
 * checks, the dependencies, and the liveness checks (a process that is not alive is not ready).
 *
 * @example
 * const health = new HealthRegistry({ checkTimeoutMs: 1000 });
 * health.addLiveness('event-loop', () => true);
 * health.addReadiness('postgres', async (signal) => (await pool.query('select 1'), true));
 * health.addDependency('payments', breaker); // a CircuitBreaker has isReady()
 * http.createServer(health.handler()).listen(8081);
 */
export class HealthRegistry {
  private readonly checks = new Map<string, Registered>();
  private readonly runtime: Runtime;
  private readonly checkTimeoutMs: number;
  private readonly maxChecks: number;
  private draining = false;

  constructor(options: HealthRegistryOptions = {}) {
    this.checkTimeoutMs = positive('checkTimeoutMs', options.checkTimeoutMs ?? 2000);
    this.maxChecks = integerIn('maxChecks', options.maxChecks ?? 100, 1, 100_000);
    this.runtime = options.runtime ?? systemRuntime();
  }

  /** Registers a liveness check; dispose the result to remove it. */
  addLiveness(name: string, fn: HealthCheckFn, options: { timeoutMs?: number } = {}): Disposable {
    return this.add(name, 'liveness', fn, options.timeoutMs);
  }

  /** Registers a readiness check; dispose the result to remove it. */
  addReadiness(name: string, fn: HealthCheckFn, options: { timeoutMs?: number } = {}): Disposable {
    return this.add(name, 'readiness', fn, options.timeoutMs);
  }

  /** Registers a dependency whose state gates readiness: `{ isReady() }` or a function returning a boolean. */
  addDependency(name: string, source: ReadinessSource | (() => boolean)): Disposable {
    if (
      typeof source !== 'function' &&
      typeof (source as Partial<ReadinessSource> | null)?.isReady !== 'function'
    ) {
      throw rangeError('source', 'an object with isReady() or a function', source);
    }
    const read = typeof source === 'function' ? source : () => source.isReady();
    return this.add(
      name,
      'readiness',
      () => ({ status: read() ? 'up' : 'down', detail: 'dependency' }),
      undefined,
    );
  }

  /**
   * Marks the process as draining (e.g. on SIGTERM): readiness reports down from now on so load
   * balancers stop routing to it, while liveness stays up.
   */
  drain(): void {
    this.draining = true;
  }

  /** Runs the liveness checks. */
  async live(): Promise<HealthReport> {
    return this.run(['liveness'], false);
  }

  /** Runs the liveness and readiness checks. */
  async ready(): Promise<HealthReport> {
    return this.run(['liveness', 'readiness'], this.draining);
  }

  /**
   * A `node:http` request handler: `GET /health` (liveness) and `GET /ready` (readiness) answer
   * 200 when up and 503 when down, with a JSON {@link HealthReport}; other paths 404, other
   * methods 405. `HEAD` is answered like `GET` without a body.
   */
  handler(): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/health' && path !== '/ready')
        return void send(res, 404, { error: 'not found' }, req.method === 'HEAD');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return void send(res, 405, { error: 'method not allowed' }, false);
      }
      const report = path === '/health' ? this.live() : this.ready();
      report.then(
        (r) => send(res, r.status === 'up' ? 200 : 503, r, req.method === 'HEAD'),
        () => send(res, 500, { error: 'health evaluation failed' }, req.method === 'HEAD'),
      );
    };
  }

  private add(
    name: string,
    kind: Registered['kind'],
    fn: HealthCheckFn,
    timeoutMs: number | undefined,
  ): Disposable {
    nonEmptyString('name', name);
    if (this.checks.has(name)) throw rangeError('name', 'unique among registered checks', name);
    if (this.checks.size >= this.maxChecks)
      throw rangeError('checks', `at most maxChecks (${this.maxChecks})`, this.checks.size + 1);
    const entry: Registered = {
      kind,
      fn,
      timeoutMs: timeoutMs === undefined ? this.checkTimeoutMs : positive('timeoutMs', timeoutMs),
    };
    this.checks.set(name, entry);
    return disposable(() => {
      if (this.checks.get(name) === entry) this.checks.delete(name);
    });
  }

  private async run(kinds: Registered['kind'][], draining: boolean): Promise<HealthReport> {
    const selected = [...this.checks].filter(([, c]) => kinds.includes(c.kind));
    const results = await Promise.all(selected.map(([, c]) => this.evaluate(c)));
    const checks: Record<string, CheckReport> = {};
    selected.forEach(([name], i) => (checks[name] = results[i] as CheckReport));
    if (draining)
      checks['draining'] = {
        status: 'down',
        durationMs: 0,
        detail: 'the process is shutting down',
      };
    const status = Object.values(checks).every((c) => c.status === 'up') ? 'up' : 'down';
    return { status, checks };
  }

  /** Runs one check against its timeout; never rejects. */
  private async evaluate(check: Registered): Promise<CheckReport> {
    const started = this.runtime.clock.monotonicMs();
    const controller = new AbortController();
    let cancelTimer: (() => void) | undefined;
    const timedOut = new Promise<CheckReport>((resolve) => {
      cancelTimer = this.runtime.timers.setTimer(check.timeoutMs, () => {
        controller.abort(new Error('health check timed out'));
        resolve({
          status: 'down',
          durationMs: check.timeoutMs,
          detail: `timed out after ${check.timeoutMs} ms`,
        });
      });
    });
    const outcome = (async (): Promise<CheckReport> => {
      const value = await check.fn(controller.signal);
      const report =
        typeof value === 'boolean'
          ? { status: value ? ('up' as const) : ('down' as const) }
          : value;
      const line: CheckReport = {
        status: report.status,
        durationMs: this.runtime.clock.monotonicMs() - started,
      };
      if ('detail' in report && report.detail !== undefined) line.detail = report.detail;
      return line;
    })().catch((error: unknown) => ({
      status: 'down' as const,
      durationMs: this.runtime.clock.monotonicMs() - started,
      detail: error instanceof Error ? error.message : String(error),
    }));
    try {
      return await Promise.race([outcome, timedOut]);
    } finally {
      cancelTimer?.();
    }
  }
}

function send(res: ServerResponse, code: number, body: unknown, headOnly: boolean): void {
  const text = JSON.stringify(body);
  res.statusCode = code;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(headOnly ? undefined : text);
}

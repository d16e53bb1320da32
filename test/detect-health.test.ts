/** The health handler behind a real `node:http` server on an ephemeral port. */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthRegistry } from '../src/detect/index.js';
import type { ExecuteContext } from '../src/resilience/index.js';
import { CircuitBreaker, Hedge, isBrokenCircuitError, pipeline } from '../src/resilience/index.js';
import { Scheduler, createSimRuntime } from '../src/sim/index.js';

/** Starts `handler` on an ephemeral loopback port; returns its base URL and a closer. */
async function serve(
  handler: Parameters<typeof createServer>[1],
): Promise<{ base: string; close: () => Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

/** GET `url`: the status and the JSON report. */
async function report(url: string): Promise<{
  status: number;
  body: { status: string; checks: Record<string, { status: string }> };
}> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as never };
}

describe('HealthRegistry.handler over HTTP', () => {
  const health = new HealthRegistry({ checkTimeoutMs: 5000 });
  let dependencyUp = true;
  let http: { base: string; close: () => Promise<void> };
  let base: string;

  beforeAll(async () => {
    health.addLiveness('loop', () => true);
    health.addDependency('breaker', { isReady: () => dependencyUp });
    http = await serve(health.handler());
    base = http.base;
  });

  afterAll(async () => {
    await http.close();
  });

  it('answers 200 with a JSON report when up', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as {
      status: string;
      checks: Record<string, { status: string }>;
    };
    expect(body.status).toBe('up');
    expect(body.checks['loop']?.status).toBe('up');
    expect(body.checks['breaker']).toBeUndefined();
    expect((await fetch(`${base}/ready?verbose=1`)).status).toBe(200);
  });

  it('answers 503 on /ready when a dependency is down, while /health stays 200', async () => {
    dependencyUp = false;
    try {
      const ready = await fetch(`${base}/ready`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as {
        status: string;
        checks: Record<string, { status: string }>;
      };
      expect(body).toMatchObject({ status: 'down', checks: { breaker: { status: 'down' } } });
      expect((await fetch(`${base}/health`)).status).toBe(200);
    } finally {
      dependencyUp = true;
    }
  });

  it('answers 404 on other paths, 405 on other methods, and HEAD without a body', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const post = await fetch(`${base}/health`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${base}/ready`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

/**
 * End to end: a real CircuitBreaker behind a Hedge (`pipeline(hedge, breaker)`) gates `/ready` of a
 * real HTTP server. The breaker and the hedge run on simulated time, so the open period passes
 * without sleeping; the health server runs on the system runtime.
 */
describe('readiness follows a circuit breaker used by a hedged pipeline', () => {
  const scheduler = new Scheduler({ seed: 4 });
  const runtime = createSimRuntime(scheduler, 'client');
  const breaker = new CircuitBreaker({
    policy: { kind: 'consecutive', threshold: 3 },
    halfOpenAfterMs: 5000,
    runtime,
  });
  const hedge = new Hedge({ initialDelayMs: 50, maxHedges: 1, runtime });
  const policy = pipeline(hedge, breaker);
  const health = new HealthRegistry({ checkTimeoutMs: 5000 });
  const transitions: string[] = [];
  let dependencyUp = false;
  let calls = 0;
  let http: { base: string; close: () => Promise<void> };

  /** The dependency: 10 ms of simulated latency, then an answer or a failure. */
  const dependency = async ({ signal }: ExecuteContext): Promise<string> => {
    calls++;
    await runtime.timers.sleep(10, signal);
    if (!dependencyUp) throw new Error('payments down');
    return 'paid';
  };
  const call = async (): Promise<unknown> => {
    const p = policy.execute(dependency).catch((e: unknown) => e);
    await scheduler.run();
    return p;
  };

  beforeAll(async () => {
    health.addLiveness('loop', () => true);
    health.addDependency('payments', breaker);
    breaker.onStateChange(({ from, to }) => transitions.push(`${from}->${to}`));
    http = await serve(health.handler());
  });

  afterAll(async () => {
    await http.close();
  });

  it('is ready, then 503 on /ready (200 on /health) once hedged failures open the breaker', async () => {
    expect((await report(`${http.base}/ready`)).status).toBe(200);
    // Each failed attempt makes the hedge send its backup at once: two breaker failures per call.
    expect(((await call()) as Error).message).toBe('payments down');
    expect(calls).toBe(2);
    expect(breaker.state).toBe('closed');
    const second = await call();
    expect(calls).toBe(3); // the third failure opened the circuit; the backup failed fast
    expect(isBrokenCircuitError(second)).toBe(true);
    expect(transitions).toEqual(['closed->open']);

    const ready = await report(`${http.base}/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'down', checks: { payments: { status: 'down' } } });
    expect((await report(`${http.base}/health`)).status).toBe(200);

    expect(isBrokenCircuitError(await call())).toBe(true);
    expect(calls).toBe(3); // while open, neither the call nor its hedge reaches the dependency
  });

  it('is ready again when the breaker admits a trial, and stays ready once the trial closes it', async () => {
    scheduler.runFor(5000);
    expect(breaker.state).toBe('half-open');
    expect((await report(`${http.base}/ready`)).status).toBe(200);
    dependencyUp = true;
    expect(await call()).toBe('paid');
    expect(breaker.state).toBe('closed');
    expect(transitions).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
    const ready = await report(`${http.base}/ready`);
    expect(ready).toMatchObject({ status: 200, body: { checks: { payments: { status: 'up' } } } });
    expect(runtime.timers.pending).toBe(0);
  });
});

/** The health handler behind a real `node:http` server on an ephemeral port. */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthRegistry } from '../src/detect/index.js';

describe('HealthRegistry.handler over HTTP', () => {
  const health = new HealthRegistry({ checkTimeoutMs: 5000 });
  let dependencyUp = true;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    health.addLiveness('loop', () => true);
    health.addDependency('breaker', { isReady: () => dependencyUp });
    server = createServer(health.handler());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
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

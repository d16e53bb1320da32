import { describe, expect, it } from 'vitest';
import type { Etcd3 } from 'etcd3';
import { Scheduler } from '../../sim/scheduler.js';
import { createSimRuntime } from '../../sim/runtime.js';
import { EtcdSession, isEtcdSessionLostError } from './session.js';

type Answer = { TTL: string } | 'error' | 'silent';

/** A fake etcd3 client: lease grant, revoke, and keep-alive streams answered by a script. */
function fakeClient(answers: () => Answer) {
  const calls = { keepalives: 0, revoked: [] as string[] };
  const leaseClient = {
    leaseGrant: async (req: { TTL: number }) => ({
      ID: '42',
      TTL: String(req.TTL),
      error: '',
      header: {},
    }),
    leaseRevoke: async (req: { ID: string }) => {
      calls.revoked.push(req.ID);
      return { header: {} };
    },
    leaseKeepAlive: async () => {
      const handlers: Record<string, (x: unknown) => void> = {};
      return {
        on(event: string, fn: (x: unknown) => void) {
          handlers[event] = fn;
          return this;
        },
        write() {
          calls.keepalives++;
          const answer = answers();
          queueMicrotask(() => {
            if (answer === 'error') handlers.error?.(new Error('unavailable'));
            else if (answer !== 'silent') handlers.data?.({ ID: '42', TTL: answer.TTL });
          });
        },
        end() {},
        cancel() {},
      };
    },
  };
  return { client: { leaseClient } as unknown as Etcd3, calls };
}

function setup(answers: () => Answer) {
  const scheduler = new Scheduler({ seed: 1 });
  const runtime = createSimRuntime(scheduler, 'client');
  const { client, calls } = fakeClient(answers);
  return { scheduler, runtime, client, calls };
}

describe('EtcdSession', () => {
  it('renews every ttl/3 and stays alive while renewals succeed', async () => {
    const { scheduler, runtime, client, calls } = setup(() => ({ TTL: '3' }));
    const session = await EtcdSession.grant({ client, runtime, ttlMs: 2500 });
    expect(session.ttlMs).toBe(3000);
    expect(session.trustedFor(0)).toBe(3000);
    await scheduler.run({ untilMs: 10_000 });
    expect(calls.keepalives).toBe(10);
    expect(session.alive).toBe(true);
    expect(session.trustedFor(scheduler.nowMs)).toBeGreaterThan(1000);
    await session.close();
    expect(calls.revoked).toEqual(['42']);
    expect(scheduler.pending).toBe(0);
  });

  it('is lost as unreachable once renewals fail past send time + ttl', async () => {
    const { scheduler, runtime, client } = setup(() => 'error');
    let lost: unknown;
    const session = await EtcdSession.grant({
      client,
      runtime,
      ttlMs: 3000,
      onLost: (e) => (lost = e),
    });
    await scheduler.run({ untilMs: 2999 });
    expect(session.alive).toBe(true);
    await scheduler.run({ untilMs: 3000 });
    expect(session.alive).toBe(false);
    expect(isEtcdSessionLostError(lost)).toBe(true);
    expect((session.signal.reason as { reason: string }).reason).toBe('unreachable');
    await scheduler.run({ untilMs: 10_000 });
    expect(scheduler.pending).toBe(0);
  });

  it('a silent server counts as a failed renewal (each keep-alive is bounded)', async () => {
    const { scheduler, runtime, client } = setup(() => 'silent');
    const session = await EtcdSession.grant({ client, runtime, ttlMs: 3000 });
    await scheduler.run({ untilMs: 3000 });
    expect(session.alive).toBe(false);
    await session.close();
  });

  it('is lost as expired when etcd answers TTL 0', async () => {
    let n = 0;
    const { scheduler, runtime, client } = setup(() => (++n >= 2 ? { TTL: '0' } : { TTL: '3' }));
    const session = await EtcdSession.grant({ client, runtime, ttlMs: 3000 });
    await scheduler.run({ untilMs: 2100 });
    expect(session.alive).toBe(false);
    expect((session.signal.reason as { reason: string }).reason).toBe('expired');
    await expect(session.renew()).rejects.toSatisfy(isEtcdSessionLostError);
  });

  it('trusts the lease only from the send time of the last successful renewal', async () => {
    let fail = false;
    const { scheduler, runtime, client } = setup(() => (fail ? 'error' : { TTL: '3' }));
    const session = await EtcdSession.grant({ client, runtime, ttlMs: 3000 });
    await scheduler.run({ untilMs: 1000 }); // renewal sent at 1000 succeeds
    fail = true;
    await scheduler.run({ untilMs: 3999 });
    expect(session.alive).toBe(true);
    await scheduler.run({ untilMs: 4000 });
    expect(session.alive).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { isTooManyWaitersError } from '../../coord/errors.js';
import { LocalQueues } from './local-queue.js';

describe('LocalQueues', () => {
  it('lets one waiter per key at a time through, in arrival order; an aborted waiter leaves', async () => {
    const queues = new LocalQueues(10);
    const order: string[] = [];
    const never = new AbortController().signal;
    const leaveA = await queues.enter('k', never);
    const other = await queues.enter('other', never);
    const gone = new AbortController();
    const b = queues.enter('k', never).then((leave) => (order.push('b'), leave));
    const c = queues.enter('k', gone.signal).then(
      () => order.push('c'),
      (e: unknown) => order.push(`c aborted: ${String(e)}`),
    );
    const d = queues.enter('k', never).then((leave) => (order.push('d'), leave));
    expect(queues.size).toBe(5);
    gone.abort('bye');
    await c;
    expect(order).toEqual(['c aborted: bye']);
    leaveA();
    leaveA();
    const leaveB = await b;
    expect(order).toEqual(['c aborted: bye', 'b']);
    leaveB();
    (await d)();
    other();
    expect(order).toEqual(['c aborted: bye', 'b', 'd']);
    expect(queues.size).toBe(0);
  });

  it('bounds the waiters and refuses an aborted signal at once', async () => {
    const queues = new LocalQueues(1);
    const leave = await queues.enter('k', new AbortController().signal);
    await expect(queues.enter('j', new AbortController().signal)).rejects.toSatisfy(
      isTooManyWaitersError,
    );
    leave();
    await expect(queues.enter('k', AbortSignal.abort('no'))).rejects.toBe('no');
    expect(queues.size).toBe(0);
  });
});

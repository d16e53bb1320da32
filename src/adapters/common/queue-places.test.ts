import { describe, expect, it } from 'vitest';
import { QUEUE_PLACE_GRACE_MS } from '../../coord/types.js';
import { Scheduler } from '../../sim/scheduler.js';
import { createSimRuntime } from '../../sim/runtime.js';
import { QueuePlaces } from './queue-places.js';

function setup() {
  const scheduler = new Scheduler({ seed: 1 });
  const runtime = createSimRuntime(scheduler, 'backend');
  return { scheduler, places: new QueuePlaces(runtime.timers), timers: runtime.timers };
}

describe('QueuePlaces', () => {
  it('leaves after the grace, unless the same owner waits again first', async () => {
    const { scheduler, places, timers } = setup();
    const left: string[] = [];
    const a = places.begin('a');
    places.leaveLater('a', a, () => left.push('a'));
    places.end('a', a);
    const b = places.begin('b');
    places.leaveLater('b', b, () => left.push('b'));
    places.end('b', b);
    await scheduler.run({ untilMs: QUEUE_PLACE_GRACE_MS / 2 });
    places.end('a', places.begin('a')); // The next chunk of a's wait came in time.
    await scheduler.run({ untilMs: QUEUE_PLACE_GRACE_MS * 2 });
    expect(left).toEqual(['b']);
    expect(timers.pending).toBe(0);
  });

  it('lets only the latest call of an owner leave (an older chunk ending late does nothing)', async () => {
    const { scheduler, places } = setup();
    const left: string[] = [];
    const older = places.begin('a');
    const newer = places.begin('a'); // The next chunk began before the older call returned.
    expect(places.isLatest('a', older)).toBe(false);
    places.leaveLater('a', older, () => left.push('older'));
    places.end('a', older);
    expect(places.isLatest('a', newer)).toBe(true);
    await scheduler.run({ untilMs: QUEUE_PLACE_GRACE_MS * 2 });
    expect(left).toEqual([]);
    places.leaveLater('a', newer, () => left.push('newer'));
    places.end('a', newer);
    await scheduler.run({ untilMs: QUEUE_PLACE_GRACE_MS * 4 });
    expect(left).toEqual(['newer']);
  });

  it('flushes pending leaves on close, running them or not', () => {
    const { places, timers } = setup();
    const left: string[] = [];
    for (const owner of ['a', 'b']) {
      const t = places.begin(owner);
      places.leaveLater(owner, t, () => left.push(owner));
      places.end(owner, t);
    }
    places.flush(true);
    expect(left).toEqual(['a', 'b']);
    expect(timers.pending).toBe(0);
    const t = places.begin('c');
    places.leaveLater('c', t, () => left.push('c'));
    places.flush(false);
    expect(left).toEqual(['a', 'b']);
    expect(timers.pending).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { Simulation } from '../sim/simulation.js';
import { settle } from './testing.js';
import { isSagaCompensatedError, isSagaStuckError } from './errors.js';
import { MemorySagaLog } from './memory.js';
import { SagaOrchestrator } from './saga.js';
import type { SagaDefinition, SagaEvent } from './saga.js';

interface Trip {
  readonly declined: boolean;
}

/** Three services as sets of applied keys; the card service declines when the input says so. */
function world() {
  const applied = { flight: new Set<string>(), hotel: new Set<string>(), card: new Set<string>() };
  const calls: string[] = [];
  let hotelUndoFailures = 0;
  const step = (name: keyof typeof applied) => ({
    name,
    run: async ({ key, input }: { key: string; input: Trip }) => {
      calls.push(`run ${name}`);
      if (name === 'card' && input.declined) throw new Error('card declined');
      applied[name].add(key);
    },
    compensate: async ({ key }: { key: string }) => {
      calls.push(`undo ${name}`);
      if (name === 'hotel' && hotelUndoFailures > 0) {
        hotelUndoFailures--;
        throw new Error('hotel service down');
      }
      applied[name].delete(key);
    },
  });
  const trip: SagaDefinition<Trip> = {
    name: 'trip',
    steps: [step('flight'), step('hotel'), step('card')],
  };
  const failHotelUndo = (n: number) => void (hotelUndoFailures = n);
  return { applied, calls, trip, failHotelUndo };
}

function orchestrator(log: MemorySagaLog, trip: SagaDefinition<Trip>, recovery?: 'compensate') {
  const sim = new Simulation({ seed: 3 });
  const node = sim.node('o');
  const o = new SagaOrchestrator({
    orchestratorId: 'o1',
    log,
    definitions: [trip as SagaDefinition<never>],
    runtime: node.runtime,
    retry: { maxAttempts: 2, backoff: { kind: 'constant', baseMs: 1, jitter: 'none' } },
    ...(recovery === undefined ? {} : { recovery }),
  });
  const events: string[] = [];
  o.onEvent((e: SagaEvent) => events.push('step' in e ? `${e.kind} ${e.step}` : e.kind));
  return { o, sim, events };
}

describe('SagaOrchestrator', () => {
  it('runs every step and leaves nothing in the log', async () => {
    const { applied, trip } = world();
    const log = new MemorySagaLog();
    const { o, sim, events } = orchestrator(log, trip);
    const id = await settle(sim, o.run('trip', { declined: false }));
    expect(typeof id).toBe('string');
    expect([applied.flight.size, applied.hotel.size, applied.card.size]).toEqual([1, 1, 1]);
    expect(log.records.size).toBe(0);
    expect(events).toEqual([
      'started flight',
      'done flight',
      'started hotel',
      'done hotel',
      'started card',
      'done card',
      'finished',
    ]);
  });

  it('compensates every started step in reverse order when a step fails', async () => {
    const { applied, calls, trip } = world();
    const log = new MemorySagaLog();
    const { o, sim } = orchestrator(log, trip);
    const error = await settle(sim, o.run('trip', { declined: true }));
    expect(isSagaCompensatedError(error)).toBe(true);
    expect(isSagaCompensatedError(error) && error.step).toBe('card');
    // The failing step's compensation runs too: it may have taken effect before failing.
    expect(calls).toEqual([
      'run flight',
      'run hotel',
      'run card',
      'run card',
      'undo card',
      'undo hotel',
      'undo flight',
    ]);
    expect([applied.flight.size, applied.hotel.size, applied.card.size]).toEqual([0, 0, 0]);
    expect(log.records.size).toBe(0);
  });

  it('keeps a saga whose compensation keeps failing, and resume() finishes it later', async () => {
    const { applied, trip, failHotelUndo } = world();
    const log = new MemorySagaLog();
    const { o, sim } = orchestrator(log, trip);
    failHotelUndo(2);
    const error = await settle(sim, o.run('trip', { declined: true }));
    expect(isSagaStuckError(error)).toBe(true);
    expect([...log.records.values()].map((r) => [r.phase, r.started])).toEqual([
      ['compensating', 2],
    ]);
    expect(await settle(sim, o.resume())).toEqual({ completed: 0, compensated: 1, stuck: 0 });
    expect([applied.flight.size, applied.hotel.size, applied.card.size]).toEqual([0, 0, 0]);
    expect(log.records.size).toBe(0);
  });

  it('resumes an interrupted saga from the log: continue by default, or compensate', async () => {
    for (const recovery of [undefined, 'compensate'] as const) {
      const { applied, trip } = world();
      const log = new MemorySagaLog();
      // As if a crash hit after the hotel step was registered: flight applied, hotel maybe.
      const sagaId = 'o1.0123456789abcdef0123456789abcdef';
      applied.flight.add(`${sagaId}:0`);
      await log.save({
        sagaId,
        name: 'trip',
        input: '{"declined":false}',
        phase: 'forward',
        started: 2,
      });
      const { o, sim } = orchestrator(log, trip, recovery);
      const report = await settle(sim, o.resume());
      const n = recovery === undefined ? 1 : 0;
      expect(report).toEqual({ completed: n, compensated: 1 - n, stuck: 0 });
      expect([applied.flight.size, applied.hotel.size, applied.card.size]).toEqual([n, n, n]);
      expect(log.records.size).toBe(0);
    }
  });

  it('validates its options and input', () => {
    const { trip } = world();
    const log = new MemorySagaLog();
    const d = [trip as SagaDefinition<never>];
    expect(() => new SagaOrchestrator({ orchestratorId: '', log, definitions: d })).toThrow(
      /orchestratorId/,
    );
    expect(
      () => new SagaOrchestrator({ orchestratorId: 'o', log, definitions: [...d, ...d] }),
    ).toThrow(/definitions must be unique names \(got "trip"\)/);
    expect(
      () =>
        new SagaOrchestrator({
          orchestratorId: 'o',
          log,
          definitions: [{ name: 'empty', steps: [] }],
        }),
    ).toThrow(/steps of empty/);
    const o = new SagaOrchestrator({ orchestratorId: 'o', log, definitions: d });
    return Promise.all([
      expect(o.run('nope', {})).rejects.toThrow(/name must be a defined saga/),
      expect(o.run('trip', undefined)).rejects.toThrow(/input must be JSON/),
    ]);
  });
});

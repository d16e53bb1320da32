/**
 * A Raft-aware nemesis in the style of Jepsen's: every so often it hurts the cluster where it
 * hurts most — it cuts the current leader off from the other members (clients still reach it),
 * pauses it, slows its clock, crashes it, crashes any member right after it voted, splits the members at random,
 * or drops messages. Each seed enables a random subset of these (swarm testing).
 *
 * @module
 */
import type { Random } from '../../core/runtime.js';
import type { Fault } from '../../sim/faults.js';
import type { Simulation } from '../../sim/simulation.js';

/** What the nemesis can do. */
export const nemesisActions = [
  'isolate-leader',
  'pause-leader',
  'isolate-and-pause-leader',
  'isolate-slow-leader',
  'crash-leader',
  'crash-member',
  'crash-voter',
  'isolate-new-leader',
  'split-members',
  'loss',
] as const;

/** One of {@link nemesisActions}. */
export type NemesisAction = (typeof nemesisActions)[number];

/** Options of {@link startNemesis}. */
export interface NemesisOptions {
  readonly sim: Simulation;
  readonly random: Random;
  /** The members' names. */
  readonly members: readonly string[];
  /** Who leads now (the highest term's leader among running members), if anyone. */
  readonly leader: () => string | undefined;
  /** The nemesis acts until this virtual time (ms). */
  readonly untilMs: number;
  /** The actions to use, all of them (default: a random subset of all, drawn per seed). */
  readonly actions?: readonly NemesisAction[];
  /** Virtual ms between actions: drawn in [minGapMs, 2 × minGapMs) (default 150). */
  readonly minGapMs?: number;
}

function drawFaults(
  action: NemesisAction,
  o: NemesisOptions,
  leader: string | undefined,
): readonly Fault[] {
  const { random, members } = o;
  const episodeMs = 50 + random.int(400);
  const others = (n: string): string[] => members.filter((m) => m !== n);
  const target = leader ?? random.pick(members);
  switch (action) {
    case 'isolate-leader':
      return [{ kind: 'partition', groups: [[target], others(target)], durationMs: episodeMs }];
    case 'pause-leader':
      return [{ kind: 'pause', node: target, durationMs: episodeMs }];
    case 'isolate-and-pause-leader': {
      // Long enough for the others to elect a new leader; the cut outlasts the pause, so the old
      // leader wakes up still believing it leads and hears from no one for a while.
      const pauseMs = 250 + random.int(300);
      return [
        { kind: 'partition', groups: [[target], others(target)], durationMs: pauseMs + 150 },
        { kind: 'pause', node: target, durationMs: pauseMs },
      ];
    }
    case 'isolate-slow-leader':
      // The leader's clock runs at half speed while it is cut off (restored by startNemesis).
      return [
        { kind: 'partition', groups: [[target], others(target)], durationMs: 300 + episodeMs },
        { kind: 'drift', node: target, driftPpm: -500_000 },
      ];
    case 'crash-leader':
      return [{ kind: 'crash', node: target, restartAfterMs: random.int(300) }];
    case 'crash-member':
      return [{ kind: 'crash', node: random.pick(members), restartAfterMs: 1 + random.int(30) }];
    case 'crash-voter':
    case 'isolate-new-leader':
      // Armed here; fires from onVote or onLeader, at the moment it matters.
      return [];
    case 'split-members': {
      const shuffled = random.shuffle([...members]);
      const cut = 1 + random.int(Math.max(1, shuffled.length - 1));
      return [
        {
          kind: 'partition',
          groups: [shuffled.slice(0, cut), shuffled.slice(cut)],
          durationMs: episodeMs,
        },
      ];
    }
    case 'loss':
      return [{ kind: 'loss', probability: random.float(0.1, 0.6), durationMs: episodeMs }];
  }
}

/** A started nemesis. */
export interface Nemesis {
  /** The actions this seed enabled. */
  readonly enabled: readonly NemesisAction[];
  /**
   * Tell it a member just granted a vote: with `crash-voter` armed, it crashes that member at
   * once and restarts it a moment later (what a member that forgets its vote must survive).
   */
  readonly onVote: (voter: string) => void;
  /**
   * Tell it a member just became leader: with `isolate-new-leader` armed, it cuts that member off
   * from the other members at once (clients still reach it, so writes pile up in its log only).
   */
  readonly onLeader: (leader: string) => void;
}

/** Starts the nemesis on `o.sim`. */
export function startNemesis(o: NemesisOptions): Nemesis {
  const { sim, random } = o;
  let enabled: readonly NemesisAction[] =
    o.actions ?? nemesisActions.filter(() => random.next() < 0.5);
  if (enabled.length === 0) enabled = [random.pick(nemesisActions)];
  const gap = o.minGapMs ?? 150;
  let armed = false;
  let armedLeader = false;
  const act = (): void => {
    if (sim.nowMs >= o.untilMs) return;
    const action = random.pick(enabled);
    if (action === 'crash-voter') armed = true;
    if (action === 'isolate-new-leader') armedLeader = true;
    for (const fault of drawFaults(action, o, o.leader())) {
      sim.inject(fault);
      if (fault.kind === 'drift')
        sim.scheduler.after(500, () =>
          sim.inject({ kind: 'drift', node: fault.node, driftPpm: 0 }),
        );
    }
    sim.scheduler.after(gap + random.int(gap), act);
  };
  sim.scheduler.after(gap + random.int(gap), act);
  const onVote = (voter: string): void => {
    if (!armed || sim.nowMs >= o.untilMs) return;
    armed = false;
    const restartAfterMs = 1 + random.int(5);
    sim.scheduler.after(0, () => sim.inject({ kind: 'crash', node: voter, restartAfterMs }));
  };
  const onLeader = (leader: string): void => {
    if (!armedLeader || sim.nowMs >= o.untilMs) return;
    armedLeader = false;
    const others = o.members.filter((m) => m !== leader);
    const durationMs = 50 + random.int(400);
    sim.scheduler.after(0, () =>
      sim.inject({ kind: 'partition', groups: [[leader], others], durationMs }),
    );
  };
  return { enabled, onVote, onLeader };
}

/**
 * Responsiveness of the lab page on a 10,000-event trace: `npm run --silent bench -- lab-page
 * [--json]`. Needs the built page (`npm run bench` builds it) and Debian's chromium.
 *
 * A synthetic run of the real simulator (five nodes exchanging messages under loss, duplication,
 * a partition, GC pauses and a crash, with notes) is recorded to exactly 10,000 events and put
 * in a report twice (an unsafe and a safe run), written with `writeReport` and opened from
 * `file://` in headless chromium. Cases, all in ms, medians over rounds:
 *
 * - `initial-render`: navigation start → the first diagram drawn (parse, model, first frame);
 * - `zoom-step`: one zoom-in keypress from the whole-run view (all 10,000 events visible):
 *   the key handler plus the redraw;
 * - `step-through`: one next-event keypress at the whole-run view: selection, details panel and
 *   the redraw;
 * - `redraw-full`: one frame of the whole-run view alone (warm: the second such frame).
 *
 * No anchor exists for this suite: the figures are absolute (a frame budget is 16 ms).
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { readLabPage, writeReport } from '../src/cli/lab-web.js';
import type { LabReport } from '../src/lab/report.js';
import type { VariantRun } from '../src/lab/run.js';
import { Simulation } from '../src/sim/index.js';
import type { BenchRow, BenchSuite } from './types.js';
import { median } from './util.js';

const CHROMIUM = '/usr/bin/chromium';
const EVENTS = 10_000;
const ROUNDS = 7;
const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];

/** A real simulation recorded to exactly {@link EVENTS} stored events. */
function syntheticRun(variant: 'unsafe' | 'safe', seed: number): VariantRun {
  const sim = new Simulation({
    seed,
    trace: { record: true, hash: true, maxEvents: EVENTS },
    network: {
      latency: { kind: 'exponential', minMs: 0.5, meanMs: 2 },
      lossProbability: 0.02,
      duplicateProbability: 0.01,
    },
  });
  for (const name of NODES) {
    const node = sim.node(name);
    let received = 0;
    node.onMessage(() => {
      if (++received % 97 === 0)
        sim.trace.add(
          sim.nowMs,
          'note',
          name,
          undefined,
          undefined,
          undefined,
          `received ${received}`,
        );
    });
    const peers = NODES.filter((n) => n !== name);
    const tick = (): void => {
      node.send(peers[received % peers.length] as string, received);
      node.runtime.timers.setTimer(1, tick);
    };
    tick();
  }
  sim.schedule([
    {
      atMs: 100,
      fault: {
        kind: 'partition',
        groups: [
          ['n1', 'n2'],
          ['n3', 'n4', 'n5'],
        ],
        durationMs: 80,
      },
    },
    { atMs: 300, fault: { kind: 'pause', node: 'n3', durationMs: 60 } },
    { atMs: 500, fault: { kind: 'crash', node: 'n5', restartAfterMs: 40 } },
  ]);
  sim.runSync({ until: () => sim.trace.size >= EVENTS + 50 });
  const trace = sim.trace.toJSON();
  const middle = trace.events[EVENTS / 2];
  return {
    scenario: 'synthetic',
    variant,
    seed,
    knobs: {},
    violated: variant === 'unsafe',
    ...(variant === 'unsafe' && middle !== undefined
      ? {
          evidence: {
            timeMs: middle.timeMs,
            summary: 'a synthetic violation',
            traceIndex: middle.index,
          },
        }
      : {}),
    figures: {},
    events: sim.events,
    endMs: sim.nowMs,
    traceHash: trace.hash,
    trace,
  };
}

export function syntheticReport(): LabReport {
  const summary = { violated: true, violatedSeeds: 1, firstViolatedSeed: 1, figures: {} };
  return {
    version: 1,
    seeds: 1,
    firstSeed: 1,
    passed: true,
    scenarios: [
      {
        meta: {
          name: 'synthetic',
          title: 'Synthetic 10,000-event trace',
          problem: 'A benchmark load for the space-time diagram.',
          reference: '-',
          property: '-',
          api: '-',
          figures: [],
          knobs: [],
          variants: { unsafe: { summary: 'unsafe' }, safe: { summary: 'safe' } },
        },
        summary: {
          name: 'synthetic',
          title: 'Synthetic',
          problem: '-',
          seeds: 1,
          firstSeed: 1,
          unsafe: summary,
          safe: { violated: false, violatedSeeds: 0, figures: {} },
          problems: [],
        },
        runs: [syntheticRun('unsafe', 1), syntheticRun('safe', 2)],
      },
    ],
  };
}

/** Presses `key` on the first diagram; resolves to handler + redraw time in ms. */
export async function keyCost(page: Page, key: string): Promise<number> {
  return page.evaluate(`(async () => {
    const c = document.querySelector('canvas.diagram-canvas');
    const draws = Number(c.dataset.draws ?? 0);
    const t0 = performance.now();
    c.dispatchEvent(new KeyboardEvent('keydown', { key: ${JSON.stringify(key)}, bubbles: true }));
    const handler = performance.now() - t0;
    await new Promise((resolve) => {
      const check = () => (Number(c.dataset.draws) > draws ? resolve() : requestAnimationFrame(check));
      check();
    });
    return handler + Number(c.dataset.drawMs);
  })()`);
}

/** Waits for the first diagram's mark (polled: waitForFunction evals, which the page's CSP forbids). */
async function firstDiagram(page: Page): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const marked = await page.evaluate(
      `performance.getEntriesByName('faultline-lab:first-diagram').length > 0`,
    );
    if (marked === true) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the page drew no diagram within 30 s');
}

async function lastDrawMs(page: Page): Promise<number> {
  return page.evaluate(`Number(document.querySelector('canvas.diagram-canvas').dataset.drawMs)`);
}

const suite: BenchSuite = {
  name: 'lab-page',
  description:
    'Lab page on a 10,000-event trace in headless chromium (ms, medians; no anchor: absolute figures, a frame is 16 ms)',
  async run({ log }): Promise<BenchRow[]> {
    await access(CHROMIUM).catch(() => {
      throw new Error(`${CHROMIUM} is missing: run scripts/provision.sh`);
    });
    await readLabPage();
    const dir = await mkdtemp(join(tmpdir(), 'faultline-bench-lab-page-'));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
    try {
      const report = syntheticReport();
      const url = pathToFileURL(await writeReport(dir, report)).href;
      log(
        `page with ${report.scenarios[0]?.runs.map((r) => r.trace?.events.length).join(' + ')} events`,
      );
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const samples = {
        initial: [] as number[],
        zoom: [] as number[],
        step: [] as number[],
        full: [] as number[],
      };
      for (let round = 0; round < ROUNDS; round++) {
        await page.goto(url);
        await firstDiagram(page);
        samples.initial.push(
          await page.evaluate(
            `performance.getEntriesByName('faultline-lab:first-diagram')[0].startTime`,
          ),
        );
        // The first whole-run frame after a load runs cold code; time the second one.
        await keyCost(page, '0');
        await keyCost(page, '-');
        samples.full.push(await lastDrawMs(page));
        samples.zoom.push(await keyCost(page, '+'));
        await keyCost(page, '0');
        samples.step.push(await keyCost(page, 'ArrowRight'));
        log(`round ${round + 1}/${ROUNDS}`);
      }
      const row = (c: string, values: number[]): BenchRow => ({
        case: c,
        impl: 'faultline',
        metric: 'median',
        value: Math.round(median(values) * 100) / 100,
        unit: 'ms',
      });
      return [
        row('initial-render', samples.initial),
        row('zoom-step', samples.zoom),
        row('step-through', samples.step),
        row('redraw-full', samples.full),
      ];
    } finally {
      await browser.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;

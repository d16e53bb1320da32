/**
 * The lab page in headless Chromium (Debian's `chromium`, driven by playwright-core): the report
 * written by `writeReport` opens offline from `file://`, lists the scenarios, draws the diagrams,
 * steps and zooms from the keyboard, and re-runs a scenario in the page with a new seed, giving
 * the same trace hash as Node. The same page is then loaded through `serveLab`, and the bare
 * built page runs the catalogue itself. Screenshots go to `test-artifacts/`.
 *
 * This test fails (it does not skip) when chromium is missing: `scripts/provision.sh` installs it.
 */
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveLab, writeReport } from '../../src/cli/lab-web.js';
import { catalogue } from '../../src/lab/catalogue.js';
import type { LabReport } from '../../src/lab/report.js';
import { buildReport } from '../../src/lab/report.js';
import { runLab, runVariant } from '../../src/lab/run.js';
import { ensureLabPage } from './page.js';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

let browser: Browser;
let report: LabReport;
let dir: string;
let reportPath: string;

beforeAll(async () => {
  try {
    await access(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} is missing: run scripts/provision.sh (it installs chromium)`);
  }
  const page = ensureLabPage({ fresh: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  report = await buildReport(catalogue, await runLab(catalogue, { seeds: 2 }));
  await page;
  dir = await mkdtemp(join(tmpdir(), 'faultline-lab-page-'));
  reportPath = await writeReport(dir, report);
  await mkdir(artifacts, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** A page that lets only `allowed` URLs through and records everything else it tried. */
async function offlinePage(allowed: (url: string) => boolean): Promise<{
  context: BrowserContext;
  page: Page;
  blocked: string[];
  errors: string[];
}> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const blocked: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (allowed(url)) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return { context, page, blocked, errors };
}

/** The text of every `.run-verdict` (one per variant). */
async function runVerdicts(page: Page): Promise<string[]> {
  return page.locator('.run-verdict').allInnerTexts();
}

/** True when the canvas has pixels other than white (it drew something). */
async function canvasDrawn(page: Page, n: number): Promise<boolean> {
  return page.evaluate(`(() => {
    const c = document.querySelectorAll('canvas.diagram-canvas')[${n}];
    if (!c || c.width === 0 || c.height === 0) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) ink++;
    return ink > 500;
  })()`);
}

describe('the lab page', () => {
  it('opens the report offline from file://, draws the diagrams, steps, zooms and re-runs', async () => {
    const { context, page, blocked, errors } = await offlinePage((url) => url.startsWith('file:'));
    try {
      await page.goto(pathToFileURL(reportPath).href);
      const items = page.locator('#scenario-list > li');
      await expect.poll(() => items.count()).toBe(report.scenarios.length);
      const first = report.scenarios[0];
      if (first === undefined) throw new Error('the catalogue is empty');
      await expect.poll(() => items.first().innerText()).toContain(first.meta.title);
      expect(await items.first().innerText()).toMatch(/unsafe: (violated|held)/);

      // Open a scenario from the keyboard: Tab to its link, Enter.
      await page.locator('.scenario-link').first().focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#scenario-title').innerText()).toBe(first.meta.title);
      expect(await page.locator('.status-line').innerText()).toMatch(/As expected|Not as expected/);
      const canvases = page.locator('canvas.diagram-canvas');
      await expect.poll(() => canvases.count()).toBe(first.runs.length);
      await expect.poll(() => canvasDrawn(page, 0)).toBe(true);
      const verdicts = await runVerdicts(page);
      expect(verdicts).toHaveLength(first.runs.length);
      for (const [i, run] of first.runs.entries()) {
        expect(verdicts[i]).toContain(`Seed ${run.seed}:`);
        expect(verdicts[i]).toContain(run.violated ? 'violated' : 'held');
        expect(verdicts[i]).toContain(run.traceHash);
      }
      await page.screenshot({ path: join(artifacts, 'lab-report.png'), fullPage: true });

      // Step through and zoom from the keyboard on the first diagram.
      const canvas = canvases.first();
      const position = page.locator('.toolbar .position').first();
      await canvas.focus();
      await page.keyboard.press('Home');
      await expect.poll(() => position.innerText()).toMatch(/^event 1 of /);
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => position.innerText()).toMatch(/^event 3 of /);
      expect(await page.locator('.event-details').first().innerText()).toMatch(/^#\d+ at /);
      const before = await position.innerText();
      await page.keyboard.press('0');
      await page.keyboard.press('+');
      await expect.poll(() => position.innerText()).not.toBe(before);
      await page
        .locator('.run')
        .first()
        .screenshot({ path: join(artifacts, 'lab-diagram.png') });

      // Re-run with another seed: the page's verdicts and trace hashes are Node's.
      const seed = 7;
      await page.locator('#seed').fill(String(seed));
      // From the keyboard: Enter in the seed field submits; the focus stays there afterwards.
      await page.locator('#seed').press('Enter');
      await expect
        .poll(() => runVerdicts(page), { timeout: 60_000 })
        .toEqual(expect.arrayContaining([expect.stringContaining(`Seed ${seed}:`)]));
      const scenario = catalogue.find((s) => s.name === first.meta.name);
      if (scenario === undefined) throw new Error('scenario not in the catalogue');
      const after = await runVerdicts(page);
      for (const [i, run] of first.runs.entries()) {
        const node = await runVariant(scenario, run.variant, { seed });
        expect(after[i]).toContain(`Seed ${seed}:`);
        expect(after[i]).toContain(node.traceHash);
        expect(after[i]).toContain(node.violated ? 'violated' : 'held');
      }
      expect(await page.locator('#run-status').innerText()).toMatch(/Ran seed 7 in \d+ ms/);
      expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe(
        'seed',
      );
      await expect.poll(() => canvasDrawn(page, 0)).toBe(true);
      await page.screenshot({ path: join(artifacts, 'lab-rerun.png'), fullPage: true });
      expect(errors).toEqual([]);
      expect(blocked).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('serves the same page through serveLab', async () => {
    const server = await serveLab(report, { port: 0 });
    const { context, page, blocked, errors } = await offlinePage((url) =>
      url.startsWith(server.url),
    );
    try {
      await page.goto(server.url);
      const items = page.locator('#scenario-list > li');
      await expect.poll(() => items.count()).toBe(report.scenarios.length);
      await expect.poll(() => page.locator('canvas.diagram-canvas').count()).toBeGreaterThan(0);
      await expect.poll(() => canvasDrawn(page, 0)).toBe(true);
      await page.screenshot({ path: join(artifacts, 'lab-served.png') });
      expect(errors).toEqual([]);
      expect(blocked).toEqual([]);
    } finally {
      await context.close();
      await server.close();
    }
  }, 60_000);

  it('runs the catalogue itself for seed 1 when no report is embedded (the bare built page)', async () => {
    const bare = await ensureLabPage();
    const { context, page, blocked, errors } = await offlinePage((url) => url.startsWith('file:'));
    try {
      await page.goto(pathToFileURL(bare).href);
      await expect
        .poll(() => page.locator('#lab-status').innerText(), { timeout: 90_000 })
        .toMatch(/No report embedded.*(every unsafe variant failed|not as expected)/);
      const verdicts = await runVerdicts(page);
      expect(verdicts.length).toBeGreaterThan(0);
      for (const v of verdicts) expect(v).toContain('Seed 1:');
      await page.screenshot({ path: join(artifacts, 'lab-bare.png') });
      expect(errors).toEqual([]);
      expect(blocked).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});

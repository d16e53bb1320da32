import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabReport } from '../lab/report.js';
import { ensureLabPage } from '../../test/web/page.js';
import {
  LabPageMissingError,
  LabReportWriteError,
  REPORT_ELEMENT_ID,
  isLabPageMissingError,
  isLabReportWriteError,
  readLabPage,
  renderReportPage,
  serveLab,
  writeReport,
} from './lab-web.js';

/** Text that would break out of a naive embedding, and `$` patterns a naive replace would expand. */
const HOSTILE = 'a </script><script>alert(1)</script> <!-- $& $1 $$ \u2028 é';

function report(): LabReport {
  const figures = { operations: 3 };
  const summary = { violated: true, violatedSeeds: 1, firstViolatedSeed: 1, figures };
  return {
    version: 1,
    seeds: 1,
    firstSeed: 1,
    passed: true,
    scenarios: [
      {
        meta: {
          name: 'hostile',
          title: `Hostile ${HOSTILE}`,
          problem: HOSTILE,
          reference: 'ref',
          property: 'prop',
          api: '// </script>',
          figures: [{ name: 'operations', label: 'operations', unit: 'ops', better: 'none' }],
          knobs: [],
          variants: { unsafe: { summary: HOSTILE }, safe: { summary: 'fix' } },
        },
        summary: {
          name: 'hostile',
          title: 'Hostile',
          problem: HOSTILE,
          seeds: 1,
          firstSeed: 1,
          unsafe: summary,
          safe: { violated: false, violatedSeeds: 0, figures },
          problems: [],
        },
        runs: [],
      },
    ],
  };
}

/** The embedded report parsed back out of a page, the way the browser reads it. */
function embedded(html: string): unknown {
  const open = `<script type="application/json" id="${REPORT_ELEMENT_ID}">`;
  const start = html.indexOf(open);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = html.indexOf('</script>', start + open.length);
  const text = html.slice(start + open.length, end);
  expect(text).not.toContain('<');
  return JSON.parse(text);
}

let dir: string;

beforeAll(async () => {
  await ensureLabPage();
  dir = await mkdtemp(join(tmpdir(), 'faultline-lab-web-'));
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeReport', () => {
  it('writes dir/index.html (creating dirs) with the report embedded; the JSON round-trips', async () => {
    const target = join(dir, 'a', 'b');
    const path = await writeReport(target, report());
    expect(path).toBe(join(target, 'index.html'));
    const html = await readFile(path, 'utf8');
    expect(embedded(html)).toEqual(report());
    // One self-contained page: no external script, stylesheet or URL to fetch.
    // (The SVG namespace URI is a name, not a fetch; the browser test checks offline loading.)
    const fetches = html.match(
      /<script[^>]+src=|<link[^>]|(?:src|href)=["']?https?:|url\(\s*["']?https?:|@import/gi,
    );
    expect(fetches).toBeNull();
    expect(html.match(/<\/script>/g)?.length).toBe(2);
  });

  it('throws a typed error naming the path when the directory cannot be written', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const error = await writeReport(join(file, 'out'), report()).catch((e: unknown) => e);
    expect(isLabReportWriteError(error)).toBe(true);
    expect(error).toBeInstanceOf(LabReportWriteError);
    expect((error as LabReportWriteError).code).toBe('FAULTLINE_LAB_REPORT_WRITE');
    expect((error as Error).message).toContain(join(file, 'out', 'index.html'));
  });
});

describe('the built page', () => {
  it('is missing: a clear error that says to run npm run build', async () => {
    const error = await readLabPage([join(dir, 'nope', 'index.html')]).catch((e: unknown) => e);
    expect(isLabPageMissingError(error)).toBe(true);
    expect(error).toBeInstanceOf(LabPageMissingError);
    expect((error as Error).message).toMatch(/npm run build/);
  });

  it('is not a built lab page: the same error', async () => {
    const other = join(dir, 'other.html');
    await writeFile(other, '<html></html>');
    await expect(readLabPage([other])).rejects.toThrow(/npm run build/);
  });

  it('embeds with a function replacement: $ patterns in data stay literal', () => {
    const html = renderReportPage('<head><!--faultline-lab-report--></head>', report());
    expect(embedded(html)).toEqual(report());
  });
});

describe('serveLab', () => {
  it('serves the page with the report at / on 127.0.0.1 and nothing else', async () => {
    const server = await serveLab(report(), { port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(server.url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(embedded(await page.text())).toEqual(report());
      expect((await fetch(`${server.url}index.html`)).status).toBe(200);
      expect((await fetch(`${server.url}x.js`)).status).toBe(404);
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
    await expect(fetch(server.url)).rejects.toThrow();
  });

  it('rejects a bad port naming the field', async () => {
    await expect(serveLab(report(), { port: 70_000 })).rejects.toThrow(/port/);
    await expect(serveLab(report(), { port: -1 })).rejects.toThrow(RangeError);
  });
});

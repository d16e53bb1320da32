/**
 * The lab's web page on the Node side: `faultline lab --report DIR` writes the built page with
 * the report embedded ({@link writeReport}); `faultline lab --serve` serves the same page on
 * 127.0.0.1 ({@link serveLab}). The page itself is built by `npm run build` into
 * `dist/web/index.html` (one self-contained file: its script and styles are inlined).
 *
 * @module
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaultlineError, errorGuard } from '../core/errors.js';
import { integerIn } from '../core/validate.js';
import type { LabReport } from '../lab/report.js';

/** Where the built page has its report inserted (see web/vite.config.ts). */
export const REPORT_PLACEHOLDER = '<!--faultline-lab-report-->';

/** The id of the embedded report's `<script type="application/json">` element. */
export const REPORT_ELEMENT_ID = 'faultline-lab-report';

/** The built page is missing (the package was not built). */
export class LabPageMissingError extends FaultlineError {
  override name = 'LabPageMissingError';
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(
      'FAULTLINE_LAB_PAGE_MISSING',
      `the lab's web page is not built (${path} is missing or not a built page): run \`npm run build\``,
      options,
    );
  }
}

/** True when `e` is a {@link LabPageMissingError}. */
export const isLabPageMissingError = errorGuard(LabPageMissingError);

/** The report could not be written (the CLI exits 73, like sysexits' EX_CANTCREAT). */
export class LabReportWriteError extends FaultlineError {
  override name = 'LabReportWriteError';
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    const why = (options?.cause as { code?: unknown } | undefined)?.code;
    super(
      'FAULTLINE_LAB_REPORT_WRITE',
      `cannot write the lab report to ${path}${typeof why === 'string' ? ` (${why})` : ''}: ${String((options?.cause as Error | undefined)?.message ?? 'unknown error')}`,
      options,
    );
  }
}

/** True when `e` is a {@link LabReportWriteError}. */
export const isLabReportWriteError = errorGuard(LabReportWriteError);

/**
 * Where the built page is: beside the compiled CLI (`dist/cli/lab-web.js` → `dist/web/`), or,
 * when this file runs from its TypeScript source (tests, `tsx`), in the repository's `dist/web/`.
 */
export function labPageCandidates(from: string = import.meta.url): string[] {
  const sibling = fileURLToPath(new URL('../web/index.html', from));
  const fromSource = fileURLToPath(new URL('../../dist/web/index.html', from));
  return from.endsWith('.ts') ? [fromSource, sibling] : [sibling];
}

/** Reads the built page (the first candidate that exists); throws {@link LabPageMissingError}. */
export async function readLabPage(
  candidates: readonly string[] = labPageCandidates(),
): Promise<string> {
  for (const path of candidates) {
    try {
      await access(path);
    } catch {
      continue;
    }
    const html = await readFile(path, 'utf8');
    if (!html.includes(REPORT_PLACEHOLDER)) throw new LabPageMissingError(path);
    return html;
  }
  throw new LabPageMissingError(candidates[0] ?? 'dist/web/index.html');
}

/**
 * The report as the text of a `<script type="application/json">` element: JSON with every `<`
 * escaped as `\u003c`, so no string in the data (`</script>`, `<!--`) can end the element early.
 * `JSON.parse` of the element's text gives the report back unchanged.
 */
export function reportScriptText(report: LabReport): string {
  return JSON.stringify(report).replace(/</g, '\\u003c');
}

/** The built page with `report` embedded. */
export function renderReportPage(page: string, report: LabReport): string {
  const element = `<script type="application/json" id="${REPORT_ELEMENT_ID}">${reportScriptText(report)}</script>`;
  // A function replacement: `$` sequences in the data must not be read as patterns.
  return page.replace(REPORT_PLACEHOLDER, () => element);
}

/**
 * Writes the lab page with `report` embedded to `dir/index.html` (creating `dir`), and returns
 * the file's path. The page is self-contained: it opens offline, from `file://`.
 *
 * @example
 * const summaries = await runLab(catalogue, { seeds: 10 });
 * const path = await writeReport('out', await buildReport(catalogue, summaries));
 */
export async function writeReport(dir: string, report: LabReport): Promise<string> {
  const page = await readLabPage();
  const path = join(dir, 'index.html');
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(path, renderReportPage(page, report), 'utf8');
  } catch (error) {
    throw new LabReportWriteError(path, { cause: error });
  }
  return path;
}

/** Options of {@link serveLab}. */
export interface ServeLabOptions {
  /** TCP port on 127.0.0.1; 0 picks any free port. */
  port: number;
}

/**
 * Serves the lab page with `report` embedded at `/` on 127.0.0.1 only. Resolves once listening,
 * with the URL and a `close()` that stops the server (and its open connections).
 *
 * @example
 * const server = await serveLab(report, { port: 0 });
 * console.log(`lab: ${server.url}`);
 * await server.close();
 */
export async function serveLab(
  report: LabReport,
  options: ServeLabOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const port = integerIn('port', options.port, 0, 65_535);
  const body = Buffer.from(renderReportPage(await readLabPage(), report), 'utf8');
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('method not allowed\n');
      return;
    }
    if (path !== '/' && path !== '/index.html') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('not found: the lab page is at /\n');
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

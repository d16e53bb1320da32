/**
 * Test helper: makes sure the built lab page exists at `dist/web/index.html`, building it with
 * Vite when asked (or when it is missing). Builds go to a private directory and the file is then
 * renamed into place, so test files running in parallel never see a half-written page.
 */
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));

/** The built page's path. */
export const labPagePath = join(repo, 'dist', 'web', 'index.html');

/** Builds the page when `fresh` or when it is missing; resolves to its path. */
export async function ensureLabPage(options: { fresh?: boolean } = {}): Promise<string> {
  if (options.fresh !== true) {
    try {
      await access(labPagePath);
      return labPagePath;
    } catch {
      // Missing: build it below.
    }
  }
  const out = await mkdtemp(join(tmpdir(), 'faultline-web-build-'));
  try {
    await run(
      process.execPath,
      [
        join(repo, 'node_modules', 'vite', 'bin', 'vite.js'),
        'build',
        '--config',
        join(repo, 'web', 'vite.config.ts'),
        '--outDir',
        out,
        '--emptyOutDir',
      ],
      { cwd: repo, timeout: 120_000 },
    );
    await mkdir(join(repo, 'dist', 'web'), { recursive: true });
    await rename(join(out, 'index.html'), labPagePath);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  return labPagePath;
}

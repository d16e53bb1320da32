/**
 * The determinism rule is enforced by lint: nothing under src/ but core/system.ts may read the real
 * clock, timers or randomness, and core/ may not import the simulator, adapters, lab or CLI.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? 'fatal');
}

describe('determinism lint', () => {
  const forbidden = [
    'export const t = Date.now();',
    'export const t = performance.now();',
    'export const r = Math.random();',
    'export const id = crypto.randomUUID();',
    'setTimeout(() => undefined, 1);',
    'setInterval(() => undefined, 1);',
    'setImmediate(() => undefined);',
    "import { setTimeout as sleep } from 'node:timers/promises';\nexport const s = sleep;",
  ];

  for (const code of forbidden) {
    it(`rejects \`${code.split('\n')[0]}\` outside core/system.ts`, async () => {
      const ids = await ruleIds(code, 'src/clocks/example.ts');
      expect(ids.some((id) => id.startsWith('no-restricted'))).toBe(true);
    });
  }

  it('allows the real clock in src/core/system.ts', async () => {
    const ids = await ruleIds('export const t = Date.now();\n', 'src/core/system.ts');
    expect(ids.filter((id) => id.startsWith('no-restricted'))).toEqual([]);
  });

  it('allows it in tests and benchmarks outside src/', async () => {
    const ids = await ruleIds('export const t = Date.now();\n', 'bench/example.ts');
    expect(ids.filter((id) => id.startsWith('no-restricted'))).toEqual([]);
  });

  it('forbids core/ from importing the simulator, adapters, lab or CLI', async () => {
    for (const dir of ['sim', 'adapters/redis', 'lab', 'cli']) {
      const code = `import { x } from '../${dir}/index.js';\nexport const y = x;\n`;
      const ids = await ruleIds(code, 'src/core/example.ts');
      expect(ids, dir).toContain('no-restricted-imports');
    }
  });
});

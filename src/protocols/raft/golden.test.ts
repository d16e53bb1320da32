import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScript } from './script.js';

// Golden scenario traces: each file in testdata/ is a script whose recorded output must match what
// the state machine prints now. FAULTLINE_UPDATE_GOLDEN=1 rewrites the files (review the diff).
const dir = new URL('./testdata/', import.meta.url);
const update = process.env['FAULTLINE_UPDATE_GOLDEN'] === '1';

describe('raft golden traces', () => {
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()) {
    it(name, () => {
      const file = new URL(name, dir);
      const text = readFileSync(file, 'utf8');
      const actual = runScript(text);
      if (update) writeFileSync(file, actual);
      else expect(actual).toBe(text);
    });
  }

  it('the unsafe Figure 8 trace shows the violation and the safe one does not', () => {
    const safe = readFileSync(new URL('figure8.txt', dir), 'utf8');
    const unsafe = readFileSync(new URL('figure8-unsafe.txt', dir), 'utf8');
    expect(safe).toContain('state-machine safety holds');
    expect(unsafe).toContain('state-machine safety VIOLATED at index 2');
  });
});

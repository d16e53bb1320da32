import { describe, expect, it } from 'vitest';
import { check } from './checker.js';
import type { HistoryEvent } from './history.js';
import { toOperations } from './history.js';
import { renderHtml } from './html.js';
import { casRegister } from './models.js';

const history: HistoryEvent[] = [
  { process: 0, type: 'invoke', f: 'write', value: 1 },
  { process: 0, type: 'ok', f: 'write', value: 1 },
  { process: 1, type: 'invoke', f: 'write', value: 2 },
  { process: 1, type: 'ok', f: 'write', value: 2 },
  { process: 2, type: 'invoke', f: 'read', value: null },
  { process: 2, type: 'ok', f: 'read', value: 1 },
  { process: 3, type: 'invoke', f: 'cas', value: [1, 5] },
  { process: 3, type: 'info', f: 'cas', value: null },
];

describe('renderHtml', () => {
  it('shows each process, the partial linearization and the failing operation', () => {
    const ops = toOperations(history);
    const result = check(ops, casRegister());
    const html = renderHtml(ops, result, casRegister(), { title: 'demo <1>' });
    expect(html).toContain('demo &#60;1&#62;');
    expect(html).toContain('NOT linearizable');
    for (const name of ['write 1', 'write 2', 'read → 1', 'cas [1,5] → ?'])
      expect(html).toContain(name);
    expect(html).toMatch(/class="op lin" data-id="0"[^>]*><b>1<\/b>/);
    expect(html).toMatch(/class="op failing" data-id="2"/);
    expect(html).toContain('Longest partial linearization (2 of 4)');
    for (const p of ['p0', 'p1', 'p2', 'p3']) expect(html).toContain(`&nbsp;${p}<`);
  });

  it('is self-contained: no external resources', () => {
    const ops = toOperations(history.slice(0, 4));
    const html = renderHtml(ops, check(ops, casRegister()), casRegister());
    expect(html).toContain('The history is linearizable.');
    expect(html).not.toMatch(/<(link|img|iframe)\b|src=|https?:/);
    expect(() =>
      renderHtml(ops, check(ops, casRegister()), casRegister(), { pxPerStep: 0 }),
    ).toThrow(/pxPerStep/);
  });
});

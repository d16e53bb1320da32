/** Small measurement helpers shared by the suites. */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Wall time of `fn` in milliseconds. */
export async function timeMs(fn: () => unknown | Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Runs each implementation `rounds` times, interleaved (a, b, c, a, b, c, ...), so drift in machine
 * load affects all of them alike; returns the median of each.
 */
export async function interleaved<K extends string>(
  rounds: number,
  impls: Record<K, () => Promise<number>>,
): Promise<Record<K, number>> {
  const samples = {} as Record<K, number[]>;
  const keys = Object.keys(impls) as K[];
  for (const k of keys) samples[k] = [];
  for (let r = 0; r < rounds; r++) {
    for (const k of keys) samples[k].push(await impls[k]());
  }
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = median(samples[k]);
  return out;
}

/** Prints rows as an aligned table, with each row's ratio to the `faultline` row of its case. */
export function formatTable(
  rows: readonly { case: string; impl: string; metric: string; value: number; unit: string }[],
): string {
  const lowerIsBetter = (unit: string) => !unit.endsWith('/s');
  const ours = new Map<string, number>();
  for (const r of rows) if (r.impl === 'faultline') ours.set(`${r.case}|${r.metric}`, r.value);
  const header = ['case', 'impl', 'metric', 'value', 'unit', 'faultline is'];
  const body = rows.map((r) => {
    const base = ours.get(`${r.case}|${r.metric}`);
    let ratio = '';
    if (base !== undefined && r.impl !== 'faultline' && r.value > 0 && base > 0) {
      const x = lowerIsBetter(r.unit) ? r.value / base : base / r.value;
      ratio = `${x.toFixed(2)}x ${x >= 1 ? 'better' : 'worse'}`;
    }
    const v = Math.abs(r.value) >= 100 ? r.value.toFixed(0) : r.value.toPrecision(3);
    return [r.case, r.impl, r.metric, v, r.unit, ratio];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/**
 * Imports a module of the compiled package (`dist/<path>`, what users run), typed as its source
 * module: `compiled<typeof import('../src/x.js')>('x.js')`. The anchors run compiled JavaScript from
 * node_modules; suites that compare against them load faultline the same way instead of through tsx.
 * `npm run bench` builds `dist/` first. The path is not a literal, so type-checking never needs `dist/`.
 */
export async function compiled<T>(path: string): Promise<T> {
  const url = new URL(`../dist/${path}`, import.meta.url);
  return (await import(url.href)) as T;
}

/** What {@link meterCpu} measured over a span of work. */
export interface CpuMeter {
  /** Process CPU (user + system) in µs. */
  readonly cpuMicros: number;
  /** Bytes allocated on the V8 heap (live growth plus everything the collections in between freed). */
  readonly allocatedBytes: number;
}

/**
 * Starts measuring this process's CPU time and V8 heap allocation; call the result to stop. CPU
 * time is what a noisy, shared machine distorts least (wall time depends on who else runs).
 * Allocation is counted from the heap's used size before and after every collection
 * (`v8.GCProfiler`), so it includes what was freed in between.
 */
export function meterCpu(): () => CpuMeter {
  const profiler = new v8.GCProfiler();
  const usedAtStart = v8.getHeapStatistics().used_heap_size;
  const cpuAtStart = process.cpuUsage();
  profiler.start();
  return () => {
    const cpu = process.cpuUsage(cpuAtStart);
    const usedAtEnd = v8.getHeapStatistics().used_heap_size;
    const stats = profiler.stop()?.statistics ?? [];
    let freed = 0;
    for (const s of stats)
      freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
    return { cpuMicros: cpu.user + cpu.system, allocatedBytes: usedAtEnd - usedAtStart + freed };
  };
}

// Imports every subpath export of the built package by its public name (package self-reference)
// and checks that its declaration file exists, so a broken `exports` map fails the test run.
import { existsSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
let failures = 0;
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target === 'string') continue;
  const name = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
  const types = new URL(`../${target.types}`, import.meta.url);
  try {
    const mod = await import(name);
    const count = Object.keys(mod).length;
    if (count === 0) throw new Error('exports nothing');
    if (!existsSync(types)) throw new Error(`missing ${target.types}`);
    console.log(`exports: ${name} ok (${count} names)`);
  } catch (error) {
    failures++;
    console.error(`exports: ${name} FAILED: ${error.message}`);
  }
}
const bin = new URL(`../${pkg.bin.faultline}`, import.meta.url);
if (!existsSync(bin)) {
  failures++;
  console.error(`exports: bin ${pkg.bin.faultline} missing`);
}
// Source maps ship without the sources they name unless they carry them: every map must inline its
// sources, so stack traces and debuggers show TypeScript, not a missing file.
const { readdirSync } = await import('node:fs');
const dist = new URL('../dist/', import.meta.url);
let maps = 0;
for (const entry of readdirSync(dist, { recursive: true })) {
  if (!String(entry).endsWith('.js.map')) continue;
  maps++;
  const map = JSON.parse(readFileSync(new URL(String(entry), dist), 'utf8'));
  const inline =
    Array.isArray(map.sourcesContent) && map.sourcesContent.length === map.sources.length;
  if (!inline || map.sourcesContent.some((s) => typeof s !== 'string')) {
    failures++;
    console.error(`exports: dist/${entry} does not inline its sources`);
  }
}
const declarationMaps = readdirSync(dist, { recursive: true }).filter((e) =>
  String(e).endsWith('.d.ts.map'),
);
if (declarationMaps.length > 0) {
  failures++;
  console.error(
    `exports: ${declarationMaps.length} declaration maps point at sources that are not shipped`,
  );
}
// The API reference site (typedoc.json) documents every entry point of the exports map.
const typedoc = JSON.parse(readFileSync(new URL('../typedoc.json', import.meta.url), 'utf8'));
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target !== 'object' || target.types === undefined) continue;
  const source = String(target.types)
    .replace('./dist/', './src/')
    .replace(/\.d\.ts$/, '.ts');
  if (!typedoc.entryPoints.includes(source)) {
    failures++;
    console.error(`exports: ${subpath} (${source}) is missing from typedoc.json entryPoints`);
  }
}
console.log(`exports: ${maps} source maps inline their sources`);
process.exit(failures === 0 ? 0 : 1);

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
process.exit(failures === 0 ? 0 : 1);

// Compiles every TypeScript example of the README and docs/ that imports faultline (```ts blocks
// starting with an import from 'faultline...') under the project's strictest settings
// (tsconfig.json: strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess...), with the
// package's public names mapped to the sources, so an example that a user copies compiles.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const out = new URL('node_modules/.cache/faultline-doc-examples/', root);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const paths = {};
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target === 'string') continue;
  const name = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
  paths[name] = [
    `../../../${target.types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts')}`,
  ];
}

const files = ['README.md', ...readdirSync(new URL('docs/', root)).map((f) => `docs/${f}`)];
const examples = [];
for (const file of files.filter((f) => f.endsWith('.md'))) {
  const text = readFileSync(new URL(file, root), 'utf8');
  for (const m of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const code = m[1];
    if (!/^\s*import [^;]* from 'faultline/.test(code)) continue;
    const line = text.slice(0, m.index).split('\n').length + 1;
    const name = `${file.replace(/[^\w]/g, '_')}_${line}.ts`;
    writeFileSync(new URL(name, out), `// ${file}:${line}\n${code}\nexport {};\n`);
    examples.push(`${file}:${line}`);
  }
}
writeFileSync(
  new URL('tsconfig.json', out),
  JSON.stringify({
    extends: '../../../tsconfig.json',
    compilerOptions: { noEmit: true, noUnusedLocals: false, paths },
    include: ['*.ts'],
  }),
);
// Many examples are fragments that use names defined in the surrounding prose (`store`, `value`):
// those errors (cannot find name, no value for a shorthand property) are expected; every other
// error (a wrong option, a missing property, an optional property that may be undefined) fails.
// Implicit anys (TS7006, TS7031) come from callbacks passed to such undeclared names.
const fragmentOnly = new Set(['TS2304', 'TS2552', 'TS18004', 'TS7006', 'TS7031']);
let output = '';
try {
  execFileSync('npx', ['tsc', '-p', new URL('tsconfig.json', out).pathname], { encoding: 'utf8' });
} catch (error) {
  output = String(error.stdout ?? '');
}
const errors = output
  .split('\n')
  .filter((line) => /error TS\d+/.test(line) && !fragmentOnly.has(/error (TS\d+)/.exec(line)[1]));
if (errors.length > 0) {
  for (const line of errors) console.error(line);
  console.error(
    `doc examples: ${errors.length} errors in ${examples.length} examples (files in ${out.pathname})`,
  );
  process.exit(1);
}
console.log(`doc examples: ${examples.length} compile under the strictest settings`);

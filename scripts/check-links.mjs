// Checks, without the network, that every relative link resolves: in README.md and docs/*.md (as
// GitHub renders them: a file or folder that exists and ships in the package, and a heading or
// `<a id>` for each `#anchor`)
// and in the API site `npm run docs` generates (a file that exists, and an element with that `id`).
// Links with a scheme (https:, mailto:, ...) are not followed. Exits 1 naming every broken link.
//
//   node scripts/check-links.mjs [site-dir]     (default: site)
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { githubSlug } from './typedoc-anchors.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const site = resolve(root, process.argv[2] ?? 'site');
const broken = [];
let checked = 0;

/** Splits `path#anchor` (either part may be empty) and decodes the path. */
function split(target) {
  const hash = target.indexOf('#');
  const path = hash < 0 ? target : target.slice(0, hash);
  const anchor = hash < 0 ? '' : target.slice(hash + 1);
  return {
    path: decodeURIComponent(path.replace(/\?.*$/, '')),
    anchor: decodeURIComponent(anchor),
  };
}

/** True for links this check does not follow: a scheme (https:, mailto:, data:) or `//host`. */
function external(target) {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
}

// ---- Markdown, as GitHub renders it ----

/** The Markdown without fenced code blocks and inline code spans (links there are not links). */
function withoutCode(markdown) {
  const lines = [];
  let fence = null;
  for (const line of markdown.split('\n')) {
    const open = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence === null && open) fence = open[1];
    else if (fence !== null && line.trim().startsWith(fence)) fence = null;
    else if (fence === null) lines.push(line.replace(/(`+)[^`]*?\1/g, ''));
  }
  return lines.join('\n');
}

const markdownAnchors = new Map();

/** The anchors GitHub gives a Markdown file: one per heading (numbered when repeated) and `<a id>`. */
function anchorsOfMarkdown(file) {
  let anchors = markdownAnchors.get(file);
  if (anchors) return anchors;
  anchors = new Set();
  const counts = new Map();
  let fence = null;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const open = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence === null && open) {
      fence = open[1];
      continue;
    }
    if (fence !== null) {
      if (line.trim().startsWith(fence)) fence = null;
      continue;
    }
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const text = heading[1]
        .replace(/<[^>]*>/g, '')
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
        .replace(/[`*]/g, '');
      const base = githubSlug(text);
      const count = counts.get(base) ?? 0;
      counts.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const match of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1]);
  }
  markdownAnchors.set(file, anchors);
  return anchors;
}

/** Every link target of a Markdown file: inline links and images, references, `<a href>`, `src`. */
function linksOfMarkdown(markdown) {
  const text = withoutCode(markdown);
  const targets = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]);
  for (const m of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) targets.push(m[1]);
  for (const m of text.matchAll(/<(?:a|img)\s[^>]*?(?:href|src)="([^"]+)"/g)) targets.push(m[1]);
  return targets;
}

// README.md and docs/ ship in the package (package.json `files`), so their relative links must
// point at files that ship too: then they work in the repository, in node_modules/faultline and in
// the tarball alike.
const shipped = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).files;
const ships = (path) =>
  path === 'package.json' ||
  shipped.some((entry) => path === entry || path.startsWith(`${entry}/`));

function checkMarkdown(file) {
  const from = relative(root, file);
  for (const target of linksOfMarkdown(readFileSync(file, 'utf8'))) {
    if (external(target)) continue;
    checked++;
    const { path, anchor } = split(target);
    const resolved = path === '' ? file : resolve(dirname(file), path);
    if (!existsSync(resolved)) {
      broken.push(`${from}: ${target} (no file ${relative(root, resolved)})`);
      continue;
    }
    if (!ships(relative(root, resolved))) {
      broken.push(`${from}: ${target} (${relative(root, resolved)} is not in package.json files)`);
      continue;
    }
    if (anchor === '') continue;
    if (!resolved.endsWith('.md')) {
      // GitHub's line anchors (#L10, #L10-L20) on source files.
      if (!/^L\d+(-L\d+)?$/.test(anchor)) broken.push(`${from}: ${target} (anchor on a non-page)`);
      continue;
    }
    if (!anchorsOfMarkdown(resolved).has(anchor)) {
      broken.push(
        `${from}: ${target} (no heading or <a id> "${anchor}" in ${relative(root, resolved)})`,
      );
    }
  }
}

const markdownFiles = [
  join(root, 'README.md'),
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(root, 'docs', name)),
];
for (const file of markdownFiles) checkMarkdown(file);
const markdownChecked = checked;

// ---- The generated site ----

const htmlIds = new Map();

/** The `id` and `name` attributes of an HTML or SVG file. */
function idsOf(file) {
  let ids = htmlIds.get(file);
  if (ids) return ids;
  ids = new Set();
  for (const m of readFileSync(file, 'utf8').matchAll(/\s(?:id|name)="([^"]*)"/g)) {
    ids.add(m[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
  }
  htmlIds.set(file, ids);
  return ids;
}

function* htmlFiles(dir) {
  for (const entry of readdirSync(dir, { recursive: true })) {
    if (String(entry).endsWith('.html')) yield join(dir, String(entry));
  }
}

let pages = 0;
if (!existsSync(site)) {
  broken.push(`${relative(root, site)}: no site; run \`npm run docs\` first`);
} else {
  for (const file of htmlFiles(site)) {
    pages++;
    const from = relative(root, file);
    const html = readFileSync(file, 'utf8');
    for (const m of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
      const target = m[1].replace(/&amp;/g, '&');
      if (external(target) || target === '' || target === '#') continue;
      checked++;
      const { path, anchor } = split(target);
      const resolved = path === '' ? file : resolve(dirname(file), path);
      const isDir = existsSync(resolved) && statSync(resolved).isDirectory();
      const page = isDir ? join(resolved, 'index.html') : resolved;
      if (!existsSync(page)) {
        broken.push(`${from}: ${target} (no file ${relative(root, page)})`);
        continue;
      }
      if (anchor !== '' && /\.(html|svg)$/.test(page) && !idsOf(page).has(anchor)) {
        broken.push(`${from}: ${target} (no id "${anchor}" in ${relative(root, page)})`);
      }
    }
  }
}

for (const line of broken) console.error(`links: ${line}`);
console.log(
  `links: ${markdownChecked} relative links in ${markdownFiles.length} Markdown files, ` +
    `${checked - markdownChecked} in ${pages} generated pages; ${broken.length} broken`,
);
process.exit(broken.length === 0 ? 0 : 1);

/**
 * Builds the lab's page into ONE self-contained HTML file (`dist/web/index.html`): the script and
 * the stylesheet are inlined, nothing is fetched, so the report opens from `file://` offline.
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Where `faultline lab --report` puts the report's JSON (see src/cli/lab-web.ts). */
export const REPORT_PLACEHOLDER = '<!--faultline-lab-report-->';

/**
 * Inlines the bundle's one script and one stylesheet into the HTML and drops the files. The
 * script text must not close its element early: `</script` and `<!--` are refused (Vite's
 * minifier does not emit them outside strings, and the page's sources do not contain them).
 */
function inlineEverything(): Plugin {
  return {
    name: 'faultline-inline-everything',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const html = bundle['index.html'];
      if (html === undefined || html.type !== 'asset')
        throw new Error('no index.html in the bundle');
      let text = String(html.source);
      for (const [file, item] of Object.entries(bundle)) {
        if (file === 'index.html') continue;
        if (item.type === 'chunk') {
          if (/<\/script|<!--/i.test(item.code))
            throw new Error(`${file}: the script contains </script or <!--; it cannot be inlined`);
          const tag = new RegExp(`<script[^>]*src="[^"]*${escapeRegExp(file)}"[^>]*></script>`);
          if (!tag.test(text)) throw new Error(`${file}: no script tag to inline it into`);
          text = text.replace(tag, () => `<script type="module">${item.code}</script>`);
        } else if (file.endsWith('.css')) {
          const css = String(item.source);
          if (/<\/style/i.test(css)) throw new Error(`${file}: the stylesheet contains </style`);
          const tag = new RegExp(`<link[^>]*href="[^"]*${escapeRegExp(file)}"[^>]*>`);
          if (!tag.test(text)) throw new Error(`${file}: no link tag to inline it into`);
          text = text.replace(tag, () => `<style>${css}</style>`);
        } else {
          throw new Error(`${file}: an asset the page would fetch; inline it or drop it`);
        }
        delete bundle[file];
      }
      if (!text.includes(REPORT_PLACEHOLDER)) throw new Error('the report placeholder is missing');
      html.source = text;
    },
  };
}

/**
 * Fails the build when anything the page bundles imports a Node built-in: Vite would otherwise
 * swap in a stub that throws only when the page runs. The lab's catalogue must stay portable.
 */
function noNodeBuiltins(): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: 'faultline-no-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source.startsWith('node:') || builtins.has(source)) {
        this.error(
          `${importer ?? '?'} imports ${source}: the lab page bundles this file for the browser, where Node built-ins do not exist (use a Web API, or keep the import out of what src/lab/catalogue.ts reaches)`,
        );
      }
      return null;
    },
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export default defineConfig({
  root,
  base: './',
  logLevel: 'warn',
  plugins: [noNodeBuiltins(), inlineEverything()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: false,
    cssCodeSplit: false,
    assetsInlineLimit: Number.MAX_SAFE_INTEGER,
    reportCompressedSize: false,
    rolldownOptions: { output: { codeSplitting: false } },
  },
});

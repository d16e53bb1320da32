// A TypeDoc plugin (loaded by typedoc.json) that makes the guides' anchors the same on the API site
// as on GitHub, so one link works in both places:
//
// - TypeDoc drops inline code from a heading's anchor ("Paxos (`src/protocols/paxos/`)" becomes
//   `#paxos-`), GitHub keeps it (`#paxos-srcprotocolspaxos`). Each heading also gets GitHub's
//   anchor, as an empty `<a id>` inside it.
// - Explicit `<a id="...">` anchors written in the Markdown are registered with TypeDoc, which only
//   knows heading anchors and would otherwise warn that links to them are broken.
//
// The link check (scripts/check-links.mjs) then verifies every relative link in the generated HTML.
import { MarkdownEvent } from 'typedoc';

/**
 * GitHub's heading anchor: the heading's text, lower-cased, without punctuation (letters, digits,
 * spaces, `-` and `_` stay), spaces turned into `-`. Duplicates get `-1`, `-2`, ... (see `slugs`).
 * @param {string} text the heading's text content (no tags)
 */
export function githubSlug(text) {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The text content of an HTML fragment: tags dropped, the few entities markdown-it emits decoded. */
export function textOf(html) {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  // GitHub numbers duplicate headings per document; TypeDoc parses a document in one piece.
  app.renderer.on(
    MarkdownEvent.PARSE,
    (event) => {
      const slugger = app.renderer.router?.getSlugger(event.page.model);
      const seen = new Map();
      const register = (id) => {
        // Slugger keeps its anchors in `seen`; there is no public way to add one.
        if (slugger && !slugger.hasAnchor(id)) slugger.seen.set(id, 0);
      };
      event.parsedText = event.parsedText.replace(
        /(<h([1-6]) id="([^"]*)"[^>]*>)([\s\S]*?)(<\/h\2>)/g,
        (whole, open, _level, id, inner, close) => {
          // The heading's own text, without the permalink icon TypeDoc appends.
          const text = textOf(inner.replace(/<a href="#[^"]*" aria-label="Permalink"[\s\S]*$/, ''));
          const base = githubSlug(text);
          const count = seen.get(base) ?? 0;
          seen.set(base, count + 1);
          const slug = count === 0 ? base : `${base}-${count}`;
          if (slug === '' || slug === id) return whole;
          register(slug);
          return `${open}<a id="${slug}"></a>${inner}${close}`;
        },
      );
      for (const match of event.parsedText.matchAll(/<a (?:id|name)="([^"]+)"/g)) {
        register(match[1]);
      }
    },
    -100,
  );
}

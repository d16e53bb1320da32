/**
 * The diagram's legend: each mark drawn the way the canvas draws it, with its meaning in words.
 *
 * @module
 */
import { h } from './dom.js';
import { COLOURS } from './diagram/draw.js';

const SVG = 'http://www.w3.org/2000/svg';

/** Static legend marks (no report data): [svg body, meaning]. */
const ITEMS: readonly (readonly [string, string])[] = [
  [
    `<line x1="2" y1="16" x2="34" y2="5" stroke="${COLOURS.message}" stroke-width="1.6"/><path d="M36 4 L28 4 L31 10 Z" fill="${COLOURS.message}"/><circle cx="2" cy="16" r="2.2" fill="${COLOURS.message}"/>`,
    'message: dot at the send, arrowhead at the delivery',
  ],
  [
    `<line x1="2" y1="16" x2="34" y2="5" stroke="${COLOURS.duplicate}" stroke-width="1.6" stroke-dasharray="8 2 2 2"/><path d="M36 4 L28 4 L31 10 Z M31 6 L23 6 L26 12 Z" fill="${COLOURS.duplicate}"/>`,
    'duplicate delivery: dash-dot line, double arrowhead',
  ],
  [
    `<line x1="2" y1="4" x2="24" y2="14" stroke="${COLOURS.drop}" stroke-width="1.6" stroke-dasharray="4 3"/><path d="M20 10 L29 19 M20 19 L29 10" stroke="${COLOURS.drop}" stroke-width="2"/>`,
    'dropped: dashed, ending in a cross where it was lost (at the sender when refused at once)',
  ],
  [
    `<line x1="2" y1="16" x2="36" y2="4" stroke="${COLOURS.message}" stroke-width="1.6" stroke-dasharray="1.5 3"/>`,
    'still in flight when the run ended: dotted',
  ],
  [
    `<rect x="1" y="3" width="34" height="15" fill="url(#lg-pause)" stroke="${COLOURS.pause}"/>`,
    'paused (GC pause): hatched band on the node’s lane, between brackets',
  ],
  [
    `<rect x="1" y="3" width="34" height="15" fill="url(#lg-crash)" stroke="${COLOURS.crash}"/>`,
    'crashed: cross-hatched band, from the ✕ crash to the ▶ restart',
  ],
  [
    `<rect x="1" y="1" width="34" height="19" fill="url(#lg-part)" stroke="${COLOURS.partition}" stroke-dasharray="3 3"/><path d="M18 2 L23 7 L18 12 L13 7 Z" fill="${COLOURS.partition}"/>`,
    'network fault (◆ when injected): partition across all lanes, isolation or cut on a lane, striped and labelled',
  ],
  [
    `<line x1="3" y1="12" x2="33" y2="12" stroke="${COLOURS.op}" stroke-width="2.5"/><line x1="3" y1="8" x2="3" y2="16" stroke="${COLOURS.op}" stroke-width="1.5"/><rect x="30" y="9" width="6" height="6" fill="${COLOURS.op}"/>`,
    'client operation: from invocation (tick) to completion (■); dashed = failed, dotted = indeterminate (?)',
  ],
  [
    `<line x1="6" y1="2" x2="6" y2="18" stroke="${COLOURS.note}" stroke-width="1.5"/><path d="M6 18 L13 14.5 L6 11 Z" fill="${COLOURS.note}"/><text x="15" y="16" font-size="9" fill="${COLOURS.note}">text</text>`,
    'note: a domain event the scenario recorded (a write accepted, a lease granted)',
  ],
  [
    `<line x1="18" y1="0" x2="18" y2="21" stroke="${COLOURS.evidence}" stroke-width="2.5" stroke-dasharray="6 3"/><circle cx="18" cy="11" r="7" fill="none" stroke="${COLOURS.evidence}" stroke-width="2"/>`,
    '⚠ evidence: where the checker found the property violated',
  ],
  [
    `<rect x="11" y="4" width="14" height="14" fill="none" stroke="${COLOURS.selection}" stroke-width="2.5"/>`,
    'selected event (its message drawn bold); details below the diagram',
  ],
];

const DEFS = `<defs>
<pattern id="lg-pause" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="rgba(178,106,0,0.10)"/><path d="M0 8 L8 0" stroke="rgba(178,106,0,0.75)"/></pattern>
<pattern id="lg-crash" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="rgba(93,26,18,0.16)"/><path d="M0 8 L8 0 M0 0 L8 8" stroke="rgba(93,26,18,0.8)"/></pattern>
<pattern id="lg-part" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="rgba(15,110,110,0.06)"/><path d="M0 4 L8 4" stroke="rgba(15,110,110,0.45)"/></pattern>
</defs>`;

/** The legend element (a definition list: mark, meaning). */
export function legend(): HTMLElement {
  const defs = document.createElementNS(SVG, 'svg');
  defs.setAttribute('width', '0');
  defs.setAttribute('height', '0');
  defs.setAttribute('aria-hidden', 'true');
  defs.setAttribute('class', 'legend-defs');
  defs.innerHTML = DEFS;
  const items = ITEMS.map(([body, meaning]) => {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('width', '38');
    svg.setAttribute('height', '21');
    svg.setAttribute('viewBox', '0 0 38 21');
    svg.setAttribute('aria-hidden', 'true');
    svg.innerHTML = body;
    return h('li', {}, svg, h('span', {}, meaning));
  });
  return h(
    'details',
    { class: 'legend', open: true },
    h('summary', {}, 'Legend'),
    defs,
    h('ul', {}, ...items),
  );
}

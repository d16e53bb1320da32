/**
 * The golden-trace script language: a scenario is a text file of commands (`> campaign a`), each
 * followed by what it printed (the messages delivered, dropped, the members' summaries). The test
 * runs the commands and compares; `FAULTLINE_UPDATE_GOLDEN=1` rewrites the expected output, so a
 * change in behaviour is always a deliberate edit of the file.
 *
 * Commands: `ids a b c [seed=N] [prevote=false] [checkquorum=false]` [maxentries=N] [commitbycounting=true]` (first), `campaign ID`,
 * `propose ID DATA`, `tick ID [N]`, `cut A B`, `isolate ID`, `heal`, `crash ID`, `restart ID`,
 * `deliver [FROM->TO]`, `drop`, `stabilize`, `status`, `safety`, `read ID CTX`, `transfer FROM TO`.
 *
 * @module
 */
import { RaftHarness } from './harness.js';

const PROMPT = '> ';

/** One parsed command with the output recorded under it. */
interface Step {
  readonly command: string;
  readonly comments: readonly string[];
}

function parse(text: string): Step[] {
  const steps: Step[] = [];
  let comments: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) comments.push(line);
    else if (line.startsWith(PROMPT)) {
      steps.push({ command: line.slice(PROMPT.length).trim(), comments });
      comments = [];
    }
  }
  return steps;
}

function flags(words: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of words) {
    const at = w.indexOf('=');
    if (at > 0) out.set(w.slice(0, at), w.slice(at + 1));
  }
  return out;
}

function start(words: readonly string[]): RaftHarness {
  const ids = words.filter((w) => !w.includes('='));
  const f = flags(words);
  return new RaftHarness({
    ids,
    seed: Number(f.get('seed') ?? 1),
    options: {
      preVote: f.get('prevote') !== 'false',
      checkQuorum: f.get('checkquorum') !== 'false',
      maxEntriesPerMessage: Number(f.get('maxentries') ?? 64),
      unsafe: { commitByCounting: f.get('commitbycounting') === 'true' },
    },
  });
}

function need(word: string | undefined, what: string): string {
  if (word === undefined) throw new Error(`missing ${what}`);
  return word;
}

function execute(h: RaftHarness, words: readonly string[]): string[] {
  const [cmd, a, b] = words;
  const before = h.lines.length;
  const out: string[] = [];
  switch (cmd) {
    case 'campaign':
      h.campaign(need(a, 'id'));
      break;
    case 'propose':
      out.push(`-> ${h.propose(need(a, 'id'), need(b, 'data'))}`);
      break;
    case 'tick':
      h.tick(need(a, 'id'), Number(b ?? 1));
      break;
    case 'cut':
      h.cut(need(a, 'id'), need(b, 'id'));
      break;
    case 'isolate':
      h.isolate(need(a, 'id'));
      break;
    case 'heal':
      h.heal();
      break;
    case 'crash':
      h.crash(need(a, 'id'));
      break;
    case 'restart':
      h.restart(need(a, 'id'));
      break;
    case 'deliver': {
      const [from, to] = (a ?? '').split('->');
      h.deliver(a === undefined ? undefined : (m) => m.from === from && m.to === to);
      break;
    }
    case 'drop':
      h.dropAll();
      break;
    case 'stabilize':
      h.stabilize();
      break;
    case 'read':
      out.push(`-> ${h.node(need(a, 'id')).readIndex(need(b, 'context'))}`);
      h.process(need(a, 'id'));
      break;
    case 'transfer':
      out.push(`-> ${h.node(need(a, 'id')).transferLeadership(need(b, 'id'))}`);
      h.process(need(a, 'id'));
      break;
    case 'status':
      out.push(...h.summary());
      break;
    case 'safety':
      out.push(safety(h));
      break;
    default:
      throw new Error(`unknown command ${JSON.stringify(cmd)}`);
  }
  return [...h.lines.slice(before), ...out];
}

/** State-machine safety over what the members applied: one entry per index, whoever applied it. */
function safety(h: RaftHarness): string {
  const seen = new Map<number, { id: string; term: number }>();
  for (const id of h.ids) {
    for (const e of h.applied(id)) {
      const first = seen.get(e.index);
      if (first === undefined) seen.set(e.index, { id, term: e.term });
      else if (first.term !== e.term)
        return `state-machine safety VIOLATED at index ${e.index}: ${first.id} applied t${first.term}, ${id} applied t${e.term}`;
    }
  }
  return `state-machine safety holds (${seen.size} indexes applied)`;
}

/**
 * Runs a script and returns the text it should contain: the same commands and comments, with the
 * output each command printed now. Equal to the input when behaviour did not change.
 */
export function runScript(text: string): string {
  const steps = parse(text);
  let harness: RaftHarness | undefined;
  const out: string[] = [];
  for (const step of steps) {
    out.push(...step.comments);
    out.push(`${PROMPT}${step.command}`);
    const words = step.command.split(/\s+/);
    if (words[0] === 'ids') {
      harness = start(words.slice(1));
      continue;
    }
    if (harness === undefined) throw new Error('a script starts with `ids ...`');
    out.push(...execute(harness, words));
  }
  return `${out.join('\n')}\n`;
}

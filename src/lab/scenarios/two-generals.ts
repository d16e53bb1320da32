/**
 * Two generals: an order service sends orders to a fulfilment service over a link that loses and
 * duplicates messages. Without acknowledgements orders are lost; retrying without de-duplication
 * fulfils some twice; acknowledgement, retry and faultline's `idempotent()` keyed by the order id at
 * the receiver fulfil each once.
 *
 * @module
 */
import { idempotent } from '../../coord/idempotency/idempotent.js';
import { MemoryIdempotencyStore } from '../../coord/idempotency/memory.js';
import type { ExecuteContext } from '../../resilience/policy.js';
import { pipeline } from '../../resilience/pipeline.js';
import { Retry } from '../../resilience/retry.js';
import { Timeout } from '../../resilience/timeout.js';
import type { Envelope, Node } from '../../sim/node.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

const ORDERS = 20;
const ORDER_EVERY_MS = 15;
const HORIZON_MS = 2_500;

/** The three designs: no acknowledgement; ack + retry; ack + retry + de-duplication. */
type Design = 'fire-and-forget' | 'retry' | 'retry-dedup';

type OrderMessage =
  { readonly kind: 'order'; readonly id: string } | { readonly kind: 'ack'; readonly id: string };

function isOrderMessage(payload: unknown): payload is OrderMessage {
  const kind = (payload as { kind?: unknown } | null)?.kind;
  return kind === 'order' || kind === 'ack';
}

/** What the world observed: messages sent, and each fulfilment at the receiver. */
class Ledger {
  messages = 0;
  readonly sentNote = new Map<string, { index: number; timeMs: number }>();
  readonly fulfilled = new Map<string, number>();
  firstDuplicate: Evidence | undefined;

  constructor(
    private readonly context: LabContext,
    private readonly nowMs: () => number,
  ) {}

  sent(node: Node, id: string, text: string): void {
    this.messages++;
    if (!this.sentNote.has(id)) {
      const index = this.context.note(node.name, text);
      this.sentNote.set(id, { index, timeMs: this.nowMs() });
    }
  }

  fulfil(node: Node, id: string): void {
    const count = (this.fulfilled.get(id) ?? 0) + 1;
    this.fulfilled.set(id, count);
    if (count === 1) {
      this.context.note(node.name, `fulfils order ${id}`);
      return;
    }
    const index = this.context.note(node.name, `fulfils order ${id} again (${count} times)`);
    this.firstDuplicate ??= {
      timeMs: this.nowMs(),
      node: node.name,
      traceIndex: index,
      summary: `Order ${id} was fulfilled a second time: a repeated message was processed as a new order.`,
      operations: [`send order ${id}`, `fulfil ${id}`, `fulfil ${id} again`],
    };
  }

  /** The first violation: an order never fulfilled (at its send) or fulfilled twice. */
  verdict(): { lost: number; duplicated: number; evidence: Evidence | undefined } {
    let lost = 0;
    let duplicated = 0;
    let evidence = this.firstDuplicate;
    for (const [id, sent] of this.sentNote) {
      const count = this.fulfilled.get(id) ?? 0;
      if (count > 1) duplicated += count - 1;
      if (count > 0) continue;
      lost++;
      if (evidence === undefined || sent.timeMs < evidence.timeMs)
        evidence = {
          timeMs: sent.timeMs,
          node: 'orders',
          traceIndex: sent.index,
          summary: `Order ${id} was never fulfilled: every message carrying it was lost, and by the end of the run nobody knew.`,
          operations: [`send order ${id}`, `no fulfilment of ${id} by ${HORIZON_MS} ms`],
        };
    }
    return { lost, duplicated, evidence };
  }
}

/** The order service: one order every few ms, sent by the design's rules. */
async function orderService(node: Node, design: Design, ledger: Ledger): Promise<void> {
  const { runtime } = node;
  const waiting = new Map<string, () => void>();
  node.onMessage((m: Envelope) => {
    const msg = m.payload;
    if (isOrderMessage(msg) && msg.kind === 'ack') waiting.get(msg.id)?.();
  });
  // One attempt: send the order and wait for its acknowledgement (the timeout policy bounds it).
  const attempt = (id: string, context: ExecuteContext): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const signal = context.signal;
      const done = (): void => {
        waiting.delete(id);
        resolve();
      };
      waiting.set(id, done);
      signal?.addEventListener(
        'abort',
        () => {
          waiting.delete(id);
          reject(signal.reason);
        },
        { once: true },
      );
      ledger.sent(node, id, `sends order ${id}, awaits its acknowledgement`);
      node.send('fulfil', { kind: 'order', id: context.idempotencyKey ?? id });
    });
  const policy = pipeline(
    new Retry({
      maxAttempts: 12,
      backoff: { baseMs: 20, capMs: 160, jitter: 'full' },
      // Orders are not idempotent: retried only because each carries its id as idempotency key.
      idempotent: design === 'retry',
      runtime,
    }),
    new Timeout({ timeoutMs: 25, strategy: 'aggressive', runtime }),
  );
  for (let i = 1; i <= ORDERS; i++) {
    await runtime.timers.sleep(ORDER_EVERY_MS);
    const id = `o${i}`;
    if (design === 'fire-and-forget') {
      ledger.sent(node, id, `sends order ${id} (no acknowledgement)`);
      node.send('fulfil', { kind: 'order', id });
      continue;
    }
    const options = design === 'retry-dedup' ? { idempotencyKey: id } : {};
    policy.execute((context) => attempt(id, context), options).catch(() => undefined);
  }
}

/** The fulfilment service: fulfils each order it receives (once per id with an idempotency key). */
function fulfilment(node: Node, design: Design, ledger: Ledger): void {
  const store = new MemoryIdempotencyStore({ runtime: node.runtime, maxRecords: ORDERS * 10 });
  const ack = (to: string, id: string): void => {
    if (design === 'fire-and-forget') return;
    ledger.messages++;
    node.send(to, { kind: 'ack', id });
  };
  node.onMessage((m: Envelope) => {
    const msg = m.payload;
    if (!isOrderMessage(msg) || msg.kind !== 'order') return;
    if (design !== 'retry-dedup') {
      ledger.fulfil(node, msg.id);
      ack(m.from, msg.id);
      return;
    }
    // The order id is the idempotency key: a repeat replays the stored outcome instead of
    // fulfilling again, and a copy arriving while the first is in progress waits for it.
    const fulfil = async (): Promise<string> => {
      ledger.fulfil(node, msg.id);
      return msg.id;
    };
    idempotent(msg.id, { order: msg.id }, fulfil, {
      store,
      runtime: node.runtime,
      leaseMs: 1_000,
      pollMs: 5,
    }).then(
      () => ack(m.from, msg.id),
      () => undefined,
    );
  });
}

async function run(context: LabContext, design: Design): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: {
      latency: { kind: 'uniform', minMs: 1, maxMs: 5 },
      lossProbability: (context.knobs['lossPercent'] ?? 20) / 100,
      duplicateProbability: (context.knobs['duplicatePercent'] ?? 5) / 100,
    },
  });
  const ledger = new Ledger(context, () => sim.nowMs);
  sim.node('fulfil').start((node) => fulfilment(node, design, ledger));
  sim.node('orders').start((node) => orderService(node, design, ledger));
  await sim.run({ untilMs: HORIZON_MS });
  const { lost, duplicated, evidence } = ledger.verdict();
  return {
    violated: evidence !== undefined,
    ...(evidence === undefined ? {} : { evidence }),
    figures: { lostOrders: lost, duplicatedOrders: duplicated, messages: ledger.messages },
  };
}

/** The two-generals scenario. */
export const twoGenerals: Scenario = {
  name: 'two-generals',
  title: 'Two generals: lost and duplicated orders',
  problem:
    'Over a link that loses and duplicates messages, a sender can never know that its last message ' +
    'arrived, so no finite exchange makes both sides certain. What a service can get is exactly-once ' +
    'effect: retry until acknowledged and let the receiver drop repeats by id.',
  reference:
    'Gray, “Notes on Data Base Operating Systems” (1978), the two generals problem; Kleppmann, ' +
    'DDIA ch. 11, “Idempotence” and exactly-once semantics',
  property:
    'By the end of the run every order is fulfilled exactly once, counted at the fulfilment service.',
  standIn:
    'The order and fulfilment services are lab code. Retry, Timeout and the receiver’s ' +
    'de-duplication (`idempotent()` over a `MemoryIdempotencyStore`) are faultline’s.',
  api: [
    "import { Retry, Timeout, pipeline } from 'faultline';",
    'const send = pipeline(',
    "  new Retry({ maxAttempts: 12, backoff: { baseMs: 20, capMs: 160, jitter: 'full' }, idempotent: false }),",
    "  new Timeout({ timeoutMs: 25, strategy: 'aggressive' }),",
    ');',
    'await send.execute((ctx) => sendOrderAwaitAck(ctx.idempotencyKey), { idempotencyKey: order.id });',
    '// receiver: the order id is the idempotency key; a repeat replays, it does not fulfil again',
    "import { idempotent, MemoryIdempotencyStore } from 'faultline/coord';",
    'await idempotent(order.id, order, () => fulfil(order), { store });',
    'ack(order.id);',
  ].join('\n'),
  figures: [
    { name: 'lostOrders', label: 'lost orders', unit: 'orders', better: 'lower', key: true },
    {
      name: 'duplicatedOrders',
      label: 'duplicated orders',
      unit: 'orders',
      better: 'lower',
      key: true,
    },
    { name: 'messages', label: 'messages sent', unit: 'messages', better: 'lower' },
  ],
  knobs: [
    {
      name: 'lossPercent',
      label: 'message loss',
      min: 0,
      max: 50,
      step: 1,
      default: 20,
      unit: '%',
    },
    {
      name: 'duplicatePercent',
      label: 'message duplication',
      min: 0,
      max: 30,
      step: 1,
      default: 5,
      unit: '%',
    },
  ],
  variants: {
    unsafe: {
      summary: 'Fire and forget: each order is sent once, with no acknowledgement.',
      run: (context) => run(context, 'fire-and-forget'),
    },
    textbook: {
      summary:
        'Acknowledgement and retry with backoff, but the receiver fulfils every copy it gets.',
      why: 'A lost acknowledgement (or a duplicated message) makes a second copy of an order that already arrived, and it is fulfilled again.',
      run: (context) => run(context, 'retry'),
    },
    safe: {
      summary:
        'Acknowledgement, Retry with backoff and full jitter, and idempotent() keyed by the order id at the receiver.',
      run: (context) => run(context, 'retry-dedup'),
    },
  },
};

/**
 * Duplicate payment: a checkout service charges through a payment service that sometimes answers
 * after the checkout's timeout (a slow bank call). The checkout retries. Without an idempotency key
 * every retry charges again; a "seen it already?" check before charging still charges twice when
 * the retry arrives while the first attempt is in progress; faultline's `idempotent()` makes the
 * retry wait for the first attempt, which finishes late, and replay its receipt.
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

const PAYMENTS = 12;
const PAYMENT_EVERY_MS = 40;
const HORIZON_MS = 5_000;
const ATTEMPT_TIMEOUT_MS = 100;

/** How the payment service treats a repeated request. */
type Design = 'no-key' | 'check-then-charge' | 'idempotent';

type PayMessage =
  | {
      readonly kind: 'pay';
      readonly attempt: number;
      readonly payment: string;
      readonly key: string | undefined;
    }
  | { readonly kind: 'paid'; readonly attempt: number; readonly receipt: string };

function isPayMessage(payload: unknown): payload is PayMessage {
  const kind = (payload as { kind?: unknown } | null)?.kind;
  return kind === 'pay' || kind === 'paid';
}

/** The bank's books as the checker sees them: charges per payment, and the first double charge. */
class Ledger {
  readonly charges = new Map<string, number>();
  confirmed = 0;
  lateAttempts = 0;
  replays = 0;
  first: Evidence | undefined;

  constructor(
    private readonly context: LabContext,
    private readonly nowMs: () => number,
  ) {}

  charge(node: Node, payment: string, attempt: number): void {
    const count = (this.charges.get(payment) ?? 0) + 1;
    this.charges.set(payment, count);
    const text =
      count === 1
        ? `charges payment ${payment} (attempt ${attempt})`
        : `charges payment ${payment} AGAIN (attempt ${attempt}): ${count} charges`;
    const index = this.context.note(node.name, text);
    if (count === 2)
      this.first ??= {
        timeMs: this.nowMs(),
        node: node.name,
        traceIndex: index,
        summary: `Payment ${payment} was charged twice: a retry of a request whose first attempt had timed out was charged as a new payment.`,
        operations: [
          `pay ${payment} (times out)`,
          `retry pay ${payment}`,
          `charge ${payment} twice`,
        ],
      };
  }

  get duplicates(): number {
    let n = 0;
    for (const count of this.charges.values()) n += Math.max(0, count - 1);
    return n;
  }
}

/** The checkout: one payment every few ms, each sent with Retry + Timeout until confirmed. */
async function checkout(node: Node, design: Design, ledger: Ledger): Promise<void> {
  const { runtime } = node;
  const waiting = new Map<number, () => void>();
  let nextAttempt = 1;
  node.onMessage((m: Envelope) => {
    const msg = m.payload;
    if (isPayMessage(msg) && msg.kind === 'paid') waiting.get(msg.attempt)?.();
  });
  const attempt = (payment: string, context: ExecuteContext): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const id = nextAttempt++;
      waiting.set(id, () => {
        waiting.delete(id);
        resolve();
      });
      context.signal?.addEventListener(
        'abort',
        () => {
          waiting.delete(id);
          reject(context.signal?.reason);
        },
        { once: true },
      );
      node.send('payments', { kind: 'pay', attempt: id, payment, key: context.idempotencyKey });
    });
  const policy = pipeline(
    new Retry({ maxAttempts: 8, backoff: { baseMs: 30, capMs: 240, jitter: 'full' }, runtime }),
    new Timeout({ timeoutMs: ATTEMPT_TIMEOUT_MS, strategy: 'aggressive', runtime }),
  );
  for (let i = 1; i <= PAYMENTS; i++) {
    await runtime.timers.sleep(PAYMENT_EVERY_MS);
    const payment = `p${i}`;
    const options = design === 'no-key' ? {} : { idempotencyKey: `checkout-${payment}` };
    policy
      .execute((context) => attempt(payment, context), options)
      .then(
        () => ledger.confirmed++,
        () => undefined,
      );
  }
}

/** The payment service: calls the (sometimes slow) bank, then answers with a receipt. */
function payments(node: Node, design: Design, ledger: Ledger, slowPercent: number): void {
  const { runtime } = node;
  const store = new MemoryIdempotencyStore({ runtime, maxRecords: PAYMENTS * 10 });
  const receipts = new Map<string, string>();
  const bank = async (payment: string, attempt: number, sentAtMs: number): Promise<string> => {
    const slow = runtime.random.next() * 100 < slowPercent;
    await runtime.timers.sleep(
      slow ? runtime.random.float(150, 400) : runtime.random.float(10, 40),
    );
    if (runtime.clock.monotonicMs() - sentAtMs > ATTEMPT_TIMEOUT_MS) ledger.lateAttempts++;
    ledger.charge(node, payment, attempt);
    return `receipt-${payment}-${attempt}`;
  };
  node.onMessage((m: Envelope) => {
    const msg = m.payload;
    if (!isPayMessage(msg) || msg.kind !== 'pay') return;
    const reply = (receipt: string): void =>
      node.send(m.from, { kind: 'paid', attempt: msg.attempt, receipt });
    const startedMs = runtime.clock.monotonicMs();
    const key = msg.key;
    if (design === 'no-key' || key === undefined) {
      void bank(msg.payment, msg.attempt, startedMs).then(reply);
      return;
    }
    if (design === 'check-then-charge') {
      const seen = receipts.get(key);
      if (seen !== undefined) return reply(seen);
      void bank(msg.payment, msg.attempt, startedMs).then((receipt) => {
        receipts.set(key, receipt);
        reply(receipt);
      });
      return;
    }
    idempotent(key, { payment: msg.payment }, () => bank(msg.payment, msg.attempt, startedMs), {
      store,
      runtime,
      leaseMs: 2_000,
      waitMs: 1_500,
      pollMs: 10,
    }).then(
      (receipt) => {
        if (receipt !== `receipt-${msg.payment}-${msg.attempt}`) ledger.replays++;
        reply(receipt);
      },
      () => undefined,
    );
  });
}

async function run(context: LabContext, design: Design): Promise<VariantOutcome> {
  const sim = context.simulation({
    network: {
      latency: { kind: 'uniform', minMs: 1, maxMs: 5 },
      lossProbability: (context.knobs['lossPercent'] ?? 5) / 100,
    },
  });
  const ledger = new Ledger(context, () => sim.nowMs);
  const slowPercent = context.knobs['slowPercent'] ?? 30;
  sim.node('payments').start((node) => payments(node, design, ledger, slowPercent));
  sim.node('checkout').start((node) => checkout(node, design, ledger));
  await sim.run({ untilMs: HORIZON_MS });
  return {
    violated: ledger.first !== undefined,
    ...(ledger.first === undefined ? {} : { evidence: ledger.first }),
    figures: {
      duplicateCharges: ledger.duplicates,
      confirmedPayments: ledger.confirmed,
      lateAttempts: ledger.lateAttempts,
      replays: ledger.replays,
    },
  };
}

/** The duplicate-payment scenario. */
export const duplicatePayment: Scenario = {
  name: 'duplicate-payment',
  title: 'Duplicate payment: a retry charges twice',
  problem:
    'A client that times out cannot tell a lost request from a slow one, so it retries; a payment ' +
    'service that treats the retry as a new request charges twice. Checking "have I seen this key?" ' +
    'before charging is not enough: the retry arrives while the first attempt is still running.',
  reference:
    'Leach, “Designing robust and predictable APIs with idempotency” (Stripe, 2017); IETF draft ' +
    '“The Idempotency-Key HTTP Header Field”; AWS Lambda Powertools, idempotency utility',
  property:
    'Each payment is charged at most once, counted at the bank (a ledger outside the services).',
  standIn:
    'The checkout, the payment service and the bank are lab code; the retry policy (Retry + ' +
    'Timeout) and the payment service’s `idempotent()` with its `MemoryIdempotencyStore` are faultline’s.',
  api: [
    "import { idempotent, MemoryIdempotencyStore } from 'faultline/coord';",
    'const store = new MemoryIdempotencyStore(); // or the Redis / PostgreSQL store',
    'app.post("/payments", async (req) =>',
    '  idempotent(req.header("Idempotency-Key"), req.body, () => bank.charge(req.body), {',
    '    store, leaseMs: 30_000, // a duplicate waits while the first attempt runs, then replays',
    '  }));',
  ].join('\n'),
  figures: [
    {
      name: 'duplicateCharges',
      label: 'duplicate charges',
      unit: 'charges',
      better: 'lower',
      key: true,
    },
    {
      name: 'lateAttempts',
      label: 'attempts finishing after the client timed out',
      unit: 'attempts',
      better: 'none',
      key: true,
    },
    { name: 'replays', label: 'receipts replayed', unit: 'replies', better: 'none' },
    {
      name: 'confirmedPayments',
      label: 'payments confirmed to the client',
      unit: 'payments',
      better: 'higher',
    },
  ],
  knobs: [
    {
      name: 'slowPercent',
      label: 'slow bank calls',
      min: 0,
      max: 80,
      step: 5,
      default: 30,
      unit: '%',
    },
    { name: 'lossPercent', label: 'message loss', min: 0, max: 30, step: 1, default: 5, unit: '%' },
  ],
  variants: {
    unsafe: {
      summary:
        'The checkout retries a timed-out payment; the service charges every request it gets.',
      run: (context) => run(context, 'no-key'),
    },
    textbook: {
      summary:
        'Requests carry an idempotency key; the service replays a stored receipt, or charges and stores one.',
      why: 'The check and the store are not one step: a retry that arrives while the first attempt is still charging finds no receipt and charges again.',
      run: (context) => run(context, 'check-then-charge'),
    },
    safe: {
      summary:
        'idempotent(): the first attempt claims the key in progress; a retry waits for it (it finishes late) and replays its receipt.',
      run: (context) => run(context, 'idempotent'),
    },
  },
};

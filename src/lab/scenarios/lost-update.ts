/**
 * Lost update: buyers on two shop instances decrement an item's stock with read-modify-write. Two
 * reads of the same quantity each write "quantity − 1", one decrement is lost, and the shop sells
 * more units than it had. A per-process mutex does not help across instances. Each of the four
 * fixes (row lock, optimistic version, fenced distributed lock, atomic conditional update) sells
 * exactly the stock.
 *
 * @module
 */
import { Lock } from '../../coord/lock.js';
import { MemoryLockBackend } from '../../coord/memory.js';
import { FencedStore } from '../../coord/fence.js';
import { Retry } from '../../resilience/retry.js';
import type { Envelope, Node } from '../../sim/node.js';
import { RemoteLockBackend, serveLocks } from '../coord/remote-lock.js';
import type { Evidence, LabContext, Scenario, VariantOutcome } from '../types.js';

const STOCK = 10;
const BUYERS_PER_SHOP = 15;
const HORIZON_MS = 6_000;
const SHOPS = ['shop-a', 'shop-b'] as const;

/** How a buyer takes one unit of an item. */
type Method =
  'naive' | 'process-mutex' | 'for-update' | 'optimistic' | 'fenced-lock' | 'conditional';

/** The four fixes, each on its own item in the safe variant. */
const FIXES: readonly Method[] = ['for-update', 'optimistic', 'fenced-lock', 'conditional'];

type DbOp =
  | { readonly op: 'read'; readonly item: string }
  | { readonly op: 'write'; readonly item: string; readonly qty: number }
  | { readonly op: 'lock-row'; readonly item: string }
  | { readonly op: 'write-unlock'; readonly item: string; readonly qty: number }
  | {
      readonly op: 'write-if-version';
      readonly item: string;
      readonly qty: number;
      readonly version: number;
    }
  | {
      readonly op: 'write-fenced';
      readonly item: string;
      readonly qty: number;
      readonly token: bigint;
    }
  | { readonly op: 'decrement-if-positive'; readonly item: string };

interface Row {
  qty: number;
  version: number;
  sold: number;
  locked: boolean;
  readonly lockQueue: (() => void)[];
}

/** What the checker sees at the database: units sold per item, and the first oversell. */
class Books {
  readonly rows = new Map<string, Row>();
  conflicts = 0;
  first: Evidence | undefined;

  constructor(
    private readonly context: LabContext,
    private readonly nowMs: () => number,
    items: readonly string[],
  ) {
    for (const item of items)
      this.rows.set(item, { qty: STOCK, version: 0, sold: 0, locked: false, lockQueue: [] });
  }

  /** A buyer's purchase was committed: one more unit sold of `item`. */
  sale(buyer: string, item: string): void {
    const row = this.rows.get(item)!;
    row.sold++;
    if (row.sold <= STOCK) return;
    const index = this.context.note(
      'db',
      `sells unit ${row.sold} of ${item} (stock was ${STOCK}) to ${buyer}`,
    );
    this.first ??= {
      timeMs: this.nowMs(),
      node: 'db',
      traceIndex: index,
      summary: `Item ${item} was oversold: ${row.sold} units sold of ${STOCK}. Two buyers read the same quantity and each wrote it minus one, so a decrement was lost.`,
      operations: [
        `read ${item}`,
        `read ${item} (same quantity)`,
        `write qty − 1`,
        `write qty − 1 (lost update)`,
      ],
    };
  }

  get oversold(): number {
    let n = 0;
    for (const row of this.rows.values()) n += Math.max(0, row.sold - STOCK);
    return n;
  }

  get sold(): number {
    let n = 0;
    for (const row of this.rows.values()) n += row.sold;
    return n;
  }
}

/** The database stand-in: one row per item, the operations a SQL database offers, a lock server. */
function database(node: Node, books: Books): void {
  const fence = new FencedStore<number>();
  serveLocks(node, new MemoryLockBackend({ runtime: node.runtime }));
  const apply = async (op: DbOp): Promise<unknown> => {
    const row = books.rows.get(op.item)!;
    switch (op.op) {
      case 'read':
        return { qty: row.qty, version: row.version };
      case 'write':
        row.qty = op.qty;
        row.version++;
        return 'ok';
      case 'lock-row':
        // SELECT ... FOR UPDATE: wait in line for the row lock, then read under it.
        if (row.locked) await new Promise<void>((resolve) => row.lockQueue.push(resolve));
        row.locked = true;
        return { qty: row.qty, version: row.version };
      case 'write-unlock':
        row.qty = op.qty;
        row.version++;
        row.locked = false;
        row.lockQueue.shift()?.();
        return 'ok';
      case 'write-if-version':
        if (row.version !== op.version) return 'conflict';
        row.qty = op.qty;
        row.version++;
        return 'ok';
      case 'write-fenced':
        if (fence.write(op.item, op.token, op.qty).kind === 'stale') return 'stale';
        row.qty = op.qty;
        row.version++;
        return 'ok';
      case 'decrement-if-positive':
        if (row.qty <= 0) return 'sold-out';
        row.qty--;
        row.version++;
        return 'ok';
    }
  };
  node.onMessage((m: Envelope) => {
    const msg = m.payload as { kind?: unknown; id?: number; op?: DbOp };
    if (msg?.kind !== 'db' || msg.op === undefined) return;
    void apply(msg.op).then((result) =>
      node.send(m.from, { kind: 'db-reply', id: msg.id, result }),
    );
  });
}

/** A shop's connection to the database: one request, one reply. */
function connect(node: Node): (op: DbOp) => Promise<unknown> {
  const pending = new Map<number, (result: unknown) => void>();
  let next = 1;
  node.onMessage((m: Envelope) => {
    const msg = m.payload as { kind?: unknown; id?: number; result?: unknown };
    if (msg?.kind === 'db-reply' && msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  return (op) =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, (result) => {
        pending.delete(id);
        resolve(result);
      });
      node.send('db', { kind: 'db', id, op });
    });
}

type Query = (op: DbOp) => Promise<unknown>;

class Conflict extends Error {}

/** One buyer takes one unit of `item` with `method`; true when a unit was sold to it. */
async function buy(query: Query, method: Method, item: string, tools: ShopTools): Promise<boolean> {
  const read = async (): Promise<{ qty: number; version: number }> =>
    (await query({ op: 'read', item })) as { qty: number; version: number };
  switch (method) {
    case 'naive': {
      const { qty } = await read();
      if (qty <= 0) return false;
      return (await query({ op: 'write', item, qty: qty - 1 })) === 'ok';
    }
    case 'process-mutex': {
      await using _lease = await tools.localLock.acquire(item, { ttlMs: 5_000 });
      const { qty } = await read();
      if (qty <= 0) return false;
      return (await query({ op: 'write', item, qty: qty - 1 })) === 'ok';
    }
    case 'for-update': {
      const { qty } = (await query({ op: 'lock-row', item })) as { qty: number };
      await query({ op: 'write-unlock', item, qty: Math.max(qty - 1, 0) });
      return qty > 0;
    }
    case 'optimistic':
      return tools.optimistic.execute(async () => {
        const { qty, version } = await read();
        if (qty <= 0) return false;
        if ((await query({ op: 'write-if-version', item, qty: qty - 1, version })) === 'ok')
          return true;
        tools.conflict();
        throw new Conflict();
      });
    case 'fenced-lock': {
      await using lease = await tools.remoteLock.acquire(`item/${item}`, {
        ttlMs: 2_000,
        waitMs: 5_000,
      });
      const { qty } = await read();
      if (qty <= 0) return false;
      return (await query({ op: 'write-fenced', item, qty: qty - 1, token: lease.token })) === 'ok';
    }
    case 'conditional':
      return (await query({ op: 'decrement-if-positive', item })) === 'ok';
  }
}

interface ShopTools {
  readonly localLock: Lock;
  readonly remoteLock: Lock;
  readonly optimistic: Retry;
  readonly conflict: () => void;
}

async function shop(node: Node, methods: readonly [Method, string][], books: Books): Promise<void> {
  const { runtime } = node;
  const query = connect(node);
  const tools: ShopTools = {
    localLock: new Lock(new MemoryLockBackend({ runtime }), { runtime }),
    remoteLock: new Lock(new RemoteLockBackend(node, 'db'), { runtime, callTimeoutMs: 200 }),
    optimistic: new Retry({
      maxAttempts: 40,
      backoff: { baseMs: 2, capMs: 40, jitter: 'full' },
      shouldRetry: (o) => o.kind === 'error' && o.error instanceof Conflict,
      runtime,
    }),
    conflict: () => books.conflicts++,
  };
  const buyer = async (b: number): Promise<void> => {
    const name = `${node.name}/buyer-${b}`;
    await runtime.timers.sleep(runtime.random.float(0, 20));
    for (const [method, item] of methods) {
      const sold = await buy(query, method, item, tools).catch(() => false);
      if (sold) books.sale(name, item);
    }
  };
  await Promise.all(Array.from({ length: BUYERS_PER_SHOP }, (_, b) => buyer(b + 1)));
}

async function run(context: LabContext, methods: readonly Method[]): Promise<VariantOutcome> {
  const sim = context.simulation({ network: { latency: { kind: 'uniform', minMs: 1, maxMs: 4 } } });
  const plan = methods.map((method) => [method, `item-${method}`] as [Method, string]);
  const books = new Books(
    context,
    () => sim.nowMs,
    plan.map(([, item]) => item),
  );
  sim.node('db').start((node) => database(node, books));
  for (const name of SHOPS) sim.node(name).start((node) => shop(node, plan, books));
  await sim.run({ untilMs: HORIZON_MS });
  return {
    violated: books.first !== undefined,
    ...(books.first === undefined ? {} : { evidence: books.first }),
    figures: {
      oversold: books.oversold,
      sold: books.sold,
      stock: STOCK * plan.length,
      conflicts: books.conflicts,
    },
  };
}

/** The lost-update scenario. */
export const lostUpdate: Scenario = {
  name: 'lost-update',
  title: 'Lost update: read-modify-write oversells',
  problem:
    'Two buyers read the same stock quantity and each writes it back minus one: one decrement is ' +
    'lost and the shop sells a unit it does not have. A lock inside one process does not help when ' +
    'two instances of the shop serve buyers.',
  reference:
    'Kleppmann, DDIA ch. 7, “Preventing Lost Updates” (atomic writes, explicit locking, ' +
    'compare-and-set); Gray & Reuter, “Transaction Processing” (1992)',
  property:
    'No item sells more units than its stock, counted at the database (each committed sale).',
  standIn:
    'The database is a lab stand-in with the operations PostgreSQL offers (plain read and write, ' +
    'SELECT … FOR UPDATE, a version check, a fenced write, a conditional UPDATE); the lock client ' +
    '(Lock), the lock server (MemoryLockBackend), the fence (FencedStore) and the retry policy are ' +
    'faultline’s. `faultline/postgres` has the same four fixes as helpers over a real database.',
  api: [
    "import { updateForUpdate, updateOptimistic, updateUnderLock, conditionalUpdate } from 'faultline/postgres';",
    '// the simplest fix when the change fits in one statement:',
    "await conditionalUpdate(pool, { table: 'items', id: 42, set: 'qty = qty - 1', where: 'qty > 0' });",
    '// otherwise lock the row, or check a version and retry with jitter, or hold a fenced lease:',
    "await updateOptimistic(pool, { table: 'items', id: 42, change: (row) => ({ qty: row.qty - 1 }) });",
  ].join('\n'),
  figures: [
    {
      name: 'oversold',
      label: 'units sold beyond stock',
      unit: 'units',
      better: 'lower',
      key: true,
    },
    { name: 'sold', label: 'units sold', unit: 'units', better: 'none', key: true },
    { name: 'stock', label: 'units in stock', unit: 'units', better: 'none' },
    {
      name: 'conflicts',
      label: 'optimistic version conflicts (retried)',
      unit: 'conflicts',
      better: 'none',
    },
  ],
  variants: {
    unsafe: {
      summary: 'Read the quantity, write it back minus one, from two shop instances.',
      run: (context) => run(context, ['naive']),
    },
    textbook: {
      summary: 'The same read-modify-write under a mutex inside each shop process.',
      why: 'The mutex serialises buyers within one instance only; the two instances still interleave their reads and writes.',
      run: (context) => run(context, ['process-mutex']),
    },
    safe: {
      summary:
        'The four fixes, each on its own item: SELECT … FOR UPDATE, an optimistic version check with jittered retries, a fenced distributed lock, an atomic conditional update.',
      run: (context) => run(context, FIXES),
    },
  },
};

/**
 * The product of a partitioned model: one state per partition, each operation stepping its own
 * partition's state. Sequential consistency needs it, because unlike linearizability it is not
 * compositional: each key being sequentially consistent does not make the whole history so.
 *
 * @module
 */
import type { Operation } from './history.js';
import type { Model, StepResult } from './model.js';
import { deepEqual, hashValue, illegal, mix32 } from './model.js';

/** A product model and the hook that routes the next step to an operation's partition. */
export interface Product {
  readonly model: Model<readonly unknown[]>;
  /** Call with the operation's index in `ops` before stepping it. */
  readonly route: (op: number) => void;
}

/** Builds the product of `model` over `partitions`, for the operations `ops` (indexed as given). */
export function productModel<S>(
  model: Model<S>,
  ops: readonly Operation[],
  partitions: readonly (readonly Operation[])[],
): Product {
  const partOf = new Map<Operation, number>();
  partitions.forEach((part, i) => part.forEach((op) => partOf.set(op, i)));
  const component = Int32Array.from(ops, (op) => partOf.get(op) ?? 0);
  const salts = Int32Array.from(partitions, (_, i) => mix32(Math.imul(i + 1, 0x27d4eb2d)));
  const hash = model.hash?.bind(model) ?? hashValue;
  const equal = model.equal?.bind(model) ?? deepEqual;
  let current = 0;
  const product: Model<readonly unknown[]> = {
    name: `${model.name} (product of ${partitions.length} partitions)`,
    init: () => partitions.map(() => model.init()),
    step(state, input, output): StepResult<readonly unknown[]> {
      const c = component[current] as number;
      const r = model.step(state[c] as S, input, output);
      if (!r.ok) return illegal;
      const next = state.slice();
      next[c] = r.next;
      return { ok: true, next };
    },
    hash(state) {
      let h = 0;
      for (let c = 0; c < state.length; c++)
        h = (h + mix32(hash(state[c] as S) ^ (salts[c] as number))) | 0;
      return h;
    },
    equal(a, b) {
      for (let c = 0; c < a.length; c++) if (!equal(a[c] as S, b[c] as S)) return false;
      return true;
    },
  };
  return { model: product, route: (op) => (current = op) };
}

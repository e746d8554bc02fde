/**
 * A prom-client `Histogram` whose observations are counted in plain numbers (a bucket array, a
 * sum and a count per label set) and folded into prom-client's own values when it is read (a
 * scrape, or `get()`). prom-client's `observe` builds a label object, validates and hashes it and
 * looks the bucket up by property name on every call: with the four append histograms that was
 * 4% of a unary append's CPU (profile of W4, docs/benchmarks.md). The exposition is prom-client's,
 * unchanged: same buckets, `le` labels, `_sum` and `_count`.
 */
import { Histogram, type HistogramConfiguration } from 'prom-client';

/** The observations of one label set since the last fold. */
export class HistogramSlot {
  /** counts[i]: observations <= bounds[i] and above bounds[i-1]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Record<string, string>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** The shape of prom-client 15's per-label-set values (`Histogram.hashMap`), which the fold adds to. */
interface PromValues {
  labels: Record<string, string | number>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

export class FoldedHistogram<T extends string = string> extends Histogram<T> {
  private readonly bounds: readonly number[];
  private readonly slots = new Map<string, HistogramSlot>();
  private readonly unlabelled: HistogramSlot | undefined;

  constructor(config: HistogramConfiguration<T>) {
    const collect = config.collect;
    super({ ...config, collect: undefined });
    this.bounds = [...(this as unknown as { upperBounds: number[] }).upperBounds];
    if ((config.labelNames ?? []).length === 0) this.unlabelled = this.slot({});
    // prom-client assigns `collect` and `observe` as instance properties: replace them here.
    (this as unknown as { collect: () => unknown }).collect = () => {
      this.fold();
      return collect?.call(this);
    };
    const fast = this.unlabelled;
    this.observe = ((labelsOrValue: Partial<Record<T, string | number>> | number, value?: number) => {
      if (typeof labelsOrValue === 'number') {
        if (!fast) throw new Error(`${config.name} has labels: observe(labels, value)`);
        fast.observe(labelsOrValue);
      } else {
        this.slot(labelsOrValue as Record<string, string | number>).observe(value!);
      }
    }) as Histogram<T>['observe'];
  }

  /** The slot of a label set, to observe into without looking it up again (keep it: it is stable). */
  slot(labels: Record<string, string | number>): HistogramSlot {
    const names = Object.keys(labels).sort();
    let key = '';
    for (const name of names) key += `${name}:${labels[name]},`;
    let slot = this.slots.get(key);
    if (!slot) {
      const stringLabels: Record<string, string> = {};
      for (const name in labels) stringLabels[name] = String(labels[name]);
      slot = new HistogramSlot(this.bounds, stringLabels);
      this.slots.set(key, slot);
    }
    return slot;
  }

  /** Adds every slot's observations since the last fold to prom-client's values, and clears them. */
  fold(): void {
    const internal = this as unknown as { hashMap: Record<string, PromValues> };
    let byLabels: Map<string, PromValues> | undefined;
    for (const [key, slot] of this.slots) {
      if (slot.count === 0) continue;
      byLabels ??= indexByLabels(internal.hashMap);
      let values = byLabels.get(key);
      if (!values) {
        this.zero(slot.labels as Partial<Record<T, string>>);
        byLabels = indexByLabels(internal.hashMap);
        values = byLabels.get(key)!;
      }
      for (let i = 0; i < this.bounds.length; i++) values.bucketValues[this.bounds[i]!]! += slot.counts[i]!;
      values.sum += slot.sum;
      values.count += slot.count;
      slot.counts.fill(0);
      slot.sum = 0;
      slot.count = 0;
    }
  }
}

/** prom-client's values keyed as `slot()` keys them (sorted label names). */
function indexByLabels(hashMap: Record<string, PromValues>): Map<string, PromValues> {
  const index = new Map<string, PromValues>();
  for (const values of Object.values(hashMap)) {
    let key = '';
    for (const name of Object.keys(values.labels).sort()) key += `${name}:${values.labels[name]},`;
    index.set(key, values);
  }
  return index;
}

/**
 * The folded histogram (src/metrics-folded.ts) exposes exactly what prom-client's own Histogram
 * exposes for the same observations: buckets, `+Inf`, sum and count, with and without labels,
 * across several scrapes and after a reset.
 */
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FoldedHistogram } from '../../src/metrics-folded.js';

const buckets = [0.001, 0.01, 0.1, 1];

function pair(labelNames: string[] = []) {
  const plainRegistry = new Registry();
  const foldedRegistry = new Registry();
  const config = { name: 'h_seconds', help: 'h', buckets, labelNames };
  const plain = new Histogram({ ...config, registers: [plainRegistry] });
  const folded = new FoldedHistogram({ ...config, registers: [foldedRegistry] });
  return { plain, folded, plainRegistry, foldedRegistry };
}

// Bucket edges, values between them, above every bound, zero and negative.
const values = [0, -1, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.5, 1, 1.0001, 7, 1e9];

describe('FoldedHistogram', () => {
  it('unlabelled: the same exposition as prom-client after each of several scrapes', async () => {
    const { plain, folded, plainRegistry, foldedRegistry } = pair();
    for (let round = 0; round < 3; round++) {
      for (const v of values.slice(round)) {
        plain.observe(v);
        folded.observe(v);
      }
      expect(await foldedRegistry.metrics()).toBe(await plainRegistry.metrics());
    }
    expect((await folded.get()).values.find((v) => v.metricName === 'h_seconds_count')?.value).toBe(
      values.length + values.length - 1 + values.length - 2,
    );
  });

  it('labelled: observe(labels, value), slots and prom-client labels() all land in the same series', async () => {
    const { plain, folded, plainRegistry, foldedRegistry } = pair(['op', 'kind']);
    const slot = folded.slot({ op: 'get', kind: 'b' });
    for (const v of values) {
      plain.observe({ op: 'get', kind: 'b' }, v);
      slot.observe(v);
      plain.observe({ op: 'put', kind: 'a' }, v * 2);
      folded.observe({ op: 'put', kind: 'a' }, v * 2);
    }
    plain.labels({ op: 'put', kind: 'a' }).observe(0.02);
    folded.labels({ op: 'put', kind: 'a' }).observe(0.02);
    // The same series and values; series may come in another order.
    const lines = (text: string) => text.split('\n').sort();
    expect(lines(await foldedRegistry.metrics())).toEqual(lines(await plainRegistry.metrics()));
  });

  it('after a reset it counts from zero again', async () => {
    const { plain, folded, plainRegistry, foldedRegistry } = pair();
    folded.observe(0.5);
    plain.observe(0.5);
    await foldedRegistry.metrics();
    folded.reset();
    plain.reset();
    folded.observe(0.05);
    plain.observe(0.05);
    expect(await foldedRegistry.metrics()).toBe(await plainRegistry.metrics());
  });

  it('rejects a value that is not a finite number, as prom-client does', () => {
    const { folded } = pair();
    expect(() => folded.observe(Number.NaN)).toThrow(TypeError);
    expect(() => folded.observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });
});

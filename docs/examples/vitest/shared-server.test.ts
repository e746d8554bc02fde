import { randomUUID } from 'node:crypto';
import { AppendInput, AppendRecord, S2, S2Environment } from '@s2-dev/streamstore';
import { expect, inject, test } from 'vitest';

const endpoint = inject('s2Endpoint');
const s2 = new S2({ accessToken: 'ignored', endpoints: { account: endpoint, basin: endpoint } });

// Test files run in parallel against the one server: each test works in a basin of its own.
function uniqueBasin(): string {
  return `test-${randomUUID()}`;
}

test('appends and reads back through the shared server', async () => {
  const basin = uniqueBasin();
  await s2.basins.create({ basin, config: { createStreamOnAppend: true } });
  const stream = s2.basin(basin).stream('orders');
  await stream.append(AppendInput.create([AppendRecord.string({ body: 'first' })]));
  const { records } = await stream.read({ start: { from: { seqNum: 0 } } });
  expect(records.map((record) => record.body)).toEqual(['first']);
});

test('code that configures the SDK from the environment reaches the same server', async () => {
  const basin = uniqueBasin();
  await s2.basins.create({ basin });
  const fromEnv = new S2({ accessToken: 'ignored', ...S2Environment.parse() });
  const { basins } = await fromEnv.basins.list({ prefix: basin });
  expect(basins.map((b) => b.name)).toEqual([basin]);
});

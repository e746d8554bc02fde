import { randomUUID } from 'node:crypto';
import { AppendInput, AppendRecord, S2, S2Environment } from '@s2-dev/streamstore';

// S2_ACCOUNT_ENDPOINT, S2_BASIN_ENDPOINT and S2_ACCESS_TOKEN come from global-setup.mjs.
const s2 = new S2(S2Environment.parse());

test('appends and reads back through the shared server', async () => {
  const basin = `test-${randomUUID()}`; // files run in parallel: a basin per test
  await s2.basins.create({ basin, config: { createStreamOnAppend: true } });
  const stream = s2.basin(basin).stream('orders');
  await stream.append(AppendInput.create([AppendRecord.string({ body: 'first' })]));
  const { records } = await stream.read({ start: { from: { seqNum: 0 } } });
  expect(records.map((record) => record.body)).toEqual(['first']);
});

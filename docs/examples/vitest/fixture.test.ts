import { AppendInput, AppendRecord } from '@s2-dev/streamstore';
import { expect } from 'vitest';
import { test } from './fixture.js';

test('starts from an empty server', async ({ s2 }) => {
  await s2.basins.create({ basin: 'my-basin', config: { createStreamOnAppend: true } });
  const ack = await s2
    .basin('my-basin')
    .stream('events')
    .append(AppendInput.create([AppendRecord.string({ body: 'a' })]));
  expect(ack.start.seqNum).toBe(0);
});

test('sees nothing the previous test created', async ({ s2 }) => {
  const { basins } = await s2.basins.list();
  expect(basins).toEqual([]);
  // The same names are free again, and sequence numbers start over.
  await s2.basins.create({ basin: 'my-basin', config: { createStreamOnAppend: true } });
  const ack = await s2
    .basin('my-basin')
    .stream('events')
    .append(AppendInput.create([AppendRecord.string({ body: 'b' })]));
  expect(ack.start.seqNum).toBe(0);
});

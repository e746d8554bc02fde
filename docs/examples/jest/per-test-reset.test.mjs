import { AppendInput, AppendRecord, S2 } from '@s2-dev/streamstore';
import { S2Lite } from 's2-lite';

// A server of this file's own, emptied before every test.
let lite;
let s2;
beforeAll(async () => {
  lite = await S2Lite.start();
  s2 = new S2(lite.sdkOptions);
});
beforeEach(() => lite.reset());
afterAll(() => lite.stop());

test('starts from an empty server', async () => {
  await s2.basins.create({ basin: 'my-basin', config: { createStreamOnAppend: true } });
  const ack = await s2
    .basin('my-basin')
    .stream('events')
    .append(AppendInput.create([AppendRecord.string({ body: 'a' })]));
  expect(ack.start.seqNum).toBe(0);
});

test('sees nothing the previous test created', async () => {
  const { basins } = await s2.basins.list();
  expect(basins).toEqual([]);
});

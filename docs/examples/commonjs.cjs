// CommonJS code loads s2-lite (an ES module) with import().
const { AppendInput, AppendRecord, S2 } = require('@s2-dev/streamstore');

async function main() {
  const { S2Lite } = await import('s2-lite');
  const lite = await S2Lite.start();
  const s2 = new S2(lite.sdkOptions);
  await s2.basins.create({ basin: 'cjs-basin', config: { createStreamOnAppend: true } });
  const stream = s2.basin('cjs-basin').stream('events');
  await stream.append(AppendInput.create([AppendRecord.string({ body: 'from CommonJS' })]));
  const { records } = await stream.read({ start: { from: { seqNum: 0 } } });
  console.log(records.map((record) => record.body).join(','));
  await lite.stop();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

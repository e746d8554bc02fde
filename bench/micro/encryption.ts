/**
 * Cost of encryption at rest: `node --import tsx bench/micro/encryption.ts [--mib 64]`.
 *
 * Through the engine on the in-memory log (no HTTP, so the cipher's share is not diluted by the
 * codecs and sockets): appends of 100 x 1 KiB and 15 x 64 KiB batches (4 in flight) to a stream
 * without a cipher, an `aegis-256` one and an `aes-256-gcm` one, then a catch-up read of all of
 * it in unary pages. Prints MiB/s per cell and the ratio to the stream without a cipher. Every
 * read checks the count and bytes it got back, so a broken path cannot post a fast number.
 */
import { Engine } from '../../src/engine/engine.js';
import { EncryptionKey } from '../../src/engine/encryption/key.js';
import type { AppendInput, Cipher } from '../../src/domain/types.js';
import { openStreamLog } from '../../src/storage/open.js';

const argMib = process.argv.indexOf('--mib');
const totalMiB = argMib >= 0 ? Number(process.argv[argMib + 1]) : 64;
const KiB = 1024;

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`benchmark check failed: ${message}`);
}

async function measure(
  cipher: Cipher | null,
  recordBytes: number,
  batch: number,
): Promise<{ append: number; read: number }> {
  const engine = new Engine(await openStreamLog({ kind: 'memory' }));
  engine.start();
  const basin = 'bench-encryption';
  await engine.createBasin(basin, {
    createStreamOnAppend: true,
    createStreamOnRead: true,
    ...(cipher ? { streamCipher: cipher } : {}),
  });
  const key = () => (cipher ? { encryptionKey: EncryptionKey.fromBytes(new Uint8Array(32).fill(7)) } : {});
  const body = new Uint8Array(recordBytes);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
  const input: AppendInput = { records: Array.from({ length: batch }, () => ({ headers: [], body })) };
  const batches = Math.max(4, Math.round((totalMiB * 1024 * KiB) / (recordBytes * batch)));
  let started = performance.now();
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < batches; i++) {
    const p: Promise<unknown> = engine.append(basin, 's', input, key()).then(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 4) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const mib = (batches * batch * recordBytes) / (1024 * KiB);
  const append = mib / ((performance.now() - started) / 1000);
  started = performance.now();
  let next = 0;
  let bytes = 0;
  while (next < batches * batch) {
    const page = await engine.read(
      basin,
      's',
      { start: { seqNum: next }, clamp: false, count: 1000, bytes: 1024 * KiB },
      key(),
    );
    check(page.records.length > 0 && page.records[0]!.seqNum === next, 'pages continue');
    for (const r of page.records) bytes += r.body.length;
    next += page.records.length;
  }
  check(bytes === batches * batch * recordBytes, 'read back every byte');
  const read = mib / ((performance.now() - started) / 1000);
  await engine.close();
  return { append, read };
}

for (const [recordBytes, batch] of [
  [KiB, 100],
  [64 * KiB, 15],
] as const) {
  const rows: [string, { append: number; read: number }][] = [];
  for (const cipher of [null, 'aegis-256', 'aes-256-gcm'] as const)
    rows.push([cipher ?? 'none', await measure(cipher, recordBytes, batch)]);
  const plain = rows[0]![1];
  for (const [name, r] of rows) {
    console.log(
      `${String(recordBytes / KiB).padStart(2)} KiB x ${String(batch).padStart(3)} ${name.padEnd(12)}` +
        ` append ${r.append.toFixed(0).padStart(5)} MiB/s (${(r.append / plain.append).toFixed(2)})` +
        `  read ${r.read.toFixed(0).padStart(5)} MiB/s (${(r.read / plain.read).toFixed(2)})`,
    );
  }
}

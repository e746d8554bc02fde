/**
 * Codec micro-benchmarks: `npx tsx bench/micro/codecs.ts`.
 *
 * A batch of 1000 records x 1 KiB body (plus one small header each), the largest unary read / append, through the
 * protobuf and JSON codecs; and the S2S FrameReader fed the framed batches in 1-byte and 64 KiB chunks. Every run
 * checks the decoded counts so a broken codec cannot post a fast number.
 */
import { decodeAppendInputJson, encodeReadBatchJson, type RecordFormat } from '../../src/api/codec/json-records.js';
import { decodeAppendInput, encodeReadBatch, type ReadBatch } from '../../src/api/codec/proto.js';
import { decodeReadBatch, encodeAppendInput } from '../../src/api/codec/proto-client.js';
import { encodeRegularFrame } from '../../src/api/s2s/frame.js';
import { FrameReader } from '../../src/api/s2s/reader.js';
import type { AppendInput, SequencedRecord } from '../../src/domain/types.js';
import { seededRand } from '../../src/util/rand.js';

const recordCount = 1000;
const bodyBytes = 1024;

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`benchmark check failed: ${message}`);
}

function bench(name: string, bytesPerOp: number, fn: () => void, minMs = 1000): void {
  for (let i = 0; i < 5; i++) fn(); // warm-up
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsedMs = 0;
  while (elapsedMs < minMs) {
    fn();
    ops++;
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  }
  const msPerOp = elapsedMs / ops;
  const mbPerSec = bytesPerOp / 1e6 / (msPerOp / 1000);
  console.log(`${name.padEnd(52)} ${msPerOp.toFixed(3).padStart(9)} ms/op ${mbPerSec.toFixed(0).padStart(6)} MB/s`);
}

// Text-like bodies (valid UTF-8, like most JSON users'), deterministic.
const rand = seededRand(42);
const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 ,.-';
function body(): Uint8Array {
  const out = new Uint8Array(bodyBytes);
  for (let i = 0; i < out.length; i++) out[i] = alphabet.charCodeAt(Math.floor(rand.next() * alphabet.length));
  return out;
}

const records: SequencedRecord[] = Array.from({ length: recordCount }, (_, i) => ({
  seqNum: 1_000_000 + i,
  timestamp: 1_755_770_400_123n + BigInt(i),
  headers: [[Buffer.from('content-type'), Buffer.from('text/plain')]],
  body: body(),
}));
const batch: ReadBatch = { records, tail: { seqNum: 1_000_000 + recordCount, timestamp: 1_755_770_401_122n } };
const input: AppendInput = {
  records: records.map((r) => ({ timestamp: r.timestamp, headers: r.headers, body: r.body })),
  matchSeqNum: 1_000_000,
};

console.log(`batch: ${recordCount} records x ${bodyBytes} B body + 1 header each\n`);

// Baseline: every encoder returns a fresh buffer of the batch's size, so this bounds what any of them can reach here
// (on virtualised hosts fresh pages are expensive and this line alone can dominate).
const oneBatch = Buffer.alloc(1_069_017, 1);
bench('baseline: allocate ~1 MiB + copy', oneBatch.length, () => {
  const out = Buffer.allocUnsafe(oneBatch.length);
  oneBatch.copy(out);
});

// --- protobuf
const protoBatch = encodeReadBatch(batch);
const protoInput = encodeAppendInput(input);
bench('proto encodeReadBatch', protoBatch.length, () => {
  check(encodeReadBatch(batch).length === protoBatch.length, 'proto batch size');
});
bench('proto decodeReadBatch', protoBatch.length, () => {
  check(decodeReadBatch(protoBatch).records.length === recordCount, 'proto batch count');
});
bench('proto decodeAppendInput', protoInput.length, () => {
  check(decodeAppendInput(protoInput).records.length === recordCount, 'proto input count');
});

// --- JSON
for (const format of ['raw', 'base64'] as RecordFormat[]) {
  const json = encodeReadBatchJson(batch, format);
  bench(`json encodeReadBatchJson (${format})`, json.length, () => {
    check(encodeReadBatchJson(batch, format).length === json.length, 'json batch size');
  });
  // An append request body in the same format (the records of the batch, as a client would send them).
  const appendJson = JSON.stringify({
    records: (JSON.parse(json) as { records: Record<string, unknown>[] }).records.map((r) => ({
      timestamp: r.timestamp,
      headers: r.headers,
      body: r.body,
    })),
    match_seq_num: 1_000_000,
  });
  bench(`json decodeAppendInputJson (${format})`, appendJson.length, () => {
    check(decodeAppendInputJson(appendJson, format).records.length === recordCount, 'json input count');
  });
}
// One timestamp above 2^53 sends the whole body through the exact (non-native) JSON parser.
const exactJson = JSON.stringify({
  records: input.records.map((r, i) => ({
    timestamp: i === 0 ? '__u64__' : Number(r.timestamp),
    body: 'x'.repeat(1024),
  })),
}).replace('"__u64__"', '18446744073709551615');
bench('json decodeAppendInputJson (raw, exact-integer path)', exactJson.length, () => {
  check(decodeAppendInputJson(exactJson, 'raw').records[0].timestamp === 18446744073709551615n, 'u64 timestamp');
});

// --- S2S framing: 16 ReadBatch frames (uncompressed) read back through the FrameReader.
const frameCount = 16;
const frame = encodeRegularFrame(protoBatch, 'none');
const stream = Buffer.concat(Array.from({ length: frameCount }, () => frame));
function readStream(chunkSize: number): void {
  const reader = new FrameReader();
  let frames = 0;
  let recordsSeen = 0;
  for (let i = 0; i < stream.length; i += chunkSize) {
    for (const f of reader.push(stream.subarray(i, i + chunkSize))) {
      frames++;
      if (frames === 1) recordsSeen = decodeReadBatch(f.payload).records.length;
      else check(f.payload.length === protoBatch.length, 'frame payload size');
    }
  }
  reader.end();
  check(frames === frameCount && recordsSeen === recordCount, 'frame count');
}
bench('baseline: 1-byte subarray loop (harness only)', stream.length, () => {
  let n = 0;
  for (let i = 0; i < stream.length; i++) n += stream.subarray(i, i + 1).length;
  check(n === stream.length, 'harness');
});
bench(`FrameReader, 1-byte chunks (${frameCount} x ${frame.length} B)`, stream.length, () => readStream(1), 3000);
bench(`FrameReader, 64 KiB chunks (${frameCount} x ${frame.length} B)`, stream.length, () => readStream(65536));

// --- compression of one batch (S2S, api.md 9.3)
const zstdFrame = encodeRegularFrame(protoBatch, 'zstd');
const gzipFrame = encodeRegularFrame(protoBatch, 'gzip');
console.log(`\ncompressed frame sizes: none ${frame.length} B, zstd ${zstdFrame.length} B, gzip ${gzipFrame.length} B`);
bench('encodeRegularFrame zstd', protoBatch.length, () => void encodeRegularFrame(protoBatch, 'zstd'));
bench('encodeRegularFrame gzip', protoBatch.length, () => void encodeRegularFrame(protoBatch, 'gzip'));
bench('FrameReader zstd frame (decompress)', protoBatch.length, () => {
  const [f] = [...new FrameReader().push(zstdFrame)];
  check(f.payload.length === protoBatch.length, 'zstd payload');
});
bench('FrameReader gzip frame (decompress)', protoBatch.length, () => {
  const [f] = [...new FrameReader().push(gzipFrame)];
  check(f.payload.length === protoBatch.length, 'gzip payload');
});

/**
 * Catch-up read path from stored blocks to S2S frames, old against new, in one process:
 * `node --import tsx bench/micro/catchup-encode.ts [--records 50000] [--body 1024] [--rounds 3]`.
 *
 * Both start from the same segment bytes (64 KiB blocks, as a checkpoint writes them) and do what a
 * cold catch-up read does per 1 MiB batch: verify and open each block, gather up to 1000 records /
 * 1 MiB, encode a ReadBatch and frame it.
 * - objects: `decodeBlock` (a record object per record), `encodeReadBatch`, `encodeRegularFrame` (a copy);
 * - sliced: `BlockView` (bytes + index), `encodeReadBatchList` from the block bytes, header written in place.
 * Reports main-thread CPU ms per MiB of frames (process.cpuUsage: user + system) and the ratio, rounds
 * alternating A-B so that machine load hits both alike. Every round checks the frames are identical.
 */
import { parseArgs } from 'node:util';
import { encodeReadBatch } from '../../src/api/codec/proto.js';
import { encodeReadBatchList } from '../../src/api/codec/proto-stored.js';
import { encodeRegularFrame, frameReserved, frameReservedBytes } from '../../src/api/s2s/frame.js';
import { RecordList } from '../../src/domain/record-list.js';
import { meteredBytes, type SequencedRecord } from '../../src/domain/types.js';
import { BlockView } from '../../src/storage/block-view.js';
import { decodeBlock, decodeFooter, encodeSegment, type BlockInfo } from '../../src/storage/codec-segment.js';
import { seededRand } from '../../src/util/rand.js';

const { values } = parseArgs({
  options: { records: { type: 'string' }, body: { type: 'string' }, rounds: { type: 'string' } },
});
const recordCount = Number(values.records ?? 50_000);
const bodyBytes = Number(values.body ?? 1024);
const rounds = Number(values.rounds ?? 3);
const batchRecords = 1000;
const batchBytes = 1 << 20;

const rand = seededRand(14);
const pool = new Uint8Array(8 << 20);
for (let i = 0; i < pool.length; i++) pool[i] = Math.floor(rand.next() * 256);
const stored = Array.from({ length: recordCount }, (_, i) => {
  const at = (i * bodyBytes) % (pool.length - bodyBytes);
  const record: SequencedRecord = {
    seqNum: i,
    timestamp: BigInt(1_700_000_000_000 + i),
    headers: [],
    body: pool.slice(at, at + bodyBytes),
  };
  return { record, expiresAtMs: null };
});
const segment = encodeSegment('bench', 1, stored, { blockBytes: 64 * 1024, compressMinBytes: 1024 }).bytes;
const footerOffset = Number(new DataView(segment.buffer, segment.byteOffset).getBigUint64(segment.length - 24, true));
const blocks = decodeFooter(segment.subarray(footerOffset), footerOffset, 'bench').blocks;
/** Each block's stored bytes as part of a fresh buffer per read, as a read-ahead run of a store get holds them. */
const fetch = (info: BlockInfo) =>
  segment.slice(info.offset, info.offset + info.storedLength + 1).subarray(0, info.storedLength);

function objects(): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let batch: SequencedRecord[] = [];
  let bytes = 0;
  const flush = () => {
    frames.push(encodeRegularFrame(encodeReadBatch({ records: batch }), 'none'));
    batch = [];
    bytes = 0;
  };
  for (const info of blocks) {
    for (const { record } of decodeBlock(fetch(info), info, 'bench')) {
      const size = meteredBytes(record);
      if (batch.length === batchRecords || bytes + size > batchBytes) flush();
      batch.push(record);
      bytes += size;
    }
  }
  flush();
  return frames;
}

function sliced(): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let list = new RecordList();
  const flush = () => {
    frames.push(frameReserved(encodeReadBatchList(list, undefined, frameReservedBytes), 'none'));
    list = new RecordList();
  };
  for (const info of blocks) {
    const block = BlockView.fromStored(fetch(info), info, 'bench');
    for (let i = 0; i < block.count; i++) {
      const size = block.metered(i);
      if (list.length === batchRecords || list.bytes + size > batchBytes) flush();
      list.pushStored(block, i, size);
    }
  }
  flush();
  return frames;
}

function cpuMs(fn: () => Uint8Array[]): { ms: number; frames: Uint8Array[] } {
  const before = process.cpuUsage();
  const frames = fn();
  const used = process.cpuUsage(before);
  return { ms: (used.user + used.system) / 1000, frames };
}

const mib = (frames: Uint8Array[]) => frames.reduce((n, f) => n + f.length, 0) / (1 << 20);
objects();
sliced(); // warm-up
const totals = { objects: 0, sliced: 0 };
let served = 0;
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? (['objects', 'sliced'] as const) : (['sliced', 'objects'] as const);
  const got: Record<string, { ms: number; frames: Uint8Array[] }> = {};
  for (const name of order) got[name] = cpuMs(name === 'objects' ? objects : sliced);
  const a = got.objects!.frames;
  const b = got.sliced!.frames;
  if (a.length !== b.length || a.some((f, i) => !Buffer.from(f).equals(Buffer.from(b[i]!)))) {
    throw new Error('benchmark check failed: the two paths framed different bytes');
  }
  totals.objects += got.objects!.ms;
  totals.sliced += got.sliced!.ms;
  served += mib(a);
}
const perMiB = (ms: number) => (ms / served).toFixed(2);
console.log(
  `${recordCount} records x ${bodyBytes} B, ${rounds} rounds, ${served.toFixed(0)} MiB of frames per path; loadavg ${(
    await import('node:os')
  )
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`objects: ${perMiB(totals.objects)} ms CPU / MiB`);
console.log(`sliced:  ${perMiB(totals.sliced)} ms CPU / MiB`);
console.log(`objects / sliced: ${(totals.objects / totals.sliced).toFixed(2)}x`);

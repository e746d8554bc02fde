/**
 * Catch-up read path from stored blocks to S2S frames, old against new, in one process:
 * `node --import tsx bench/micro/catchup-encode.ts [--records 50000] [--body 1024] [--rounds 3]`.
 *
 * Both start from the same segment bytes (64 KiB blocks, as a checkpoint writes them) and do what a
 * cold catch-up read does per 1 MiB batch: verify and open each block, gather up to 1000 records /
 * 1 MiB, encode a ReadBatch and frame it.
 * - objects: `decodeBlock` (a record object per record), `encodeReadBatch`, `encodeRegularFrame` (a copy);
 * - sliced: `BlockView` (bytes + index), `encodeReadBatchList` from the block bytes, header written in place;
 * - pooled: sliced, into reused response buffers (api/codec/out-buffers.ts), each given back once "sent".
 * Reports main-thread CPU ms per MiB of frames (process.cpuUsage: user + system) and the ratios, rounds
 * alternating the order so that machine load hits all alike. Every round checks the frames are
 * identical (a CRC of each path's frames; a frame is "sent" by checksumming it, then dropped or given back).
 */
import { parseArgs } from 'node:util';
import { encodeReadBatch } from '../../src/api/codec/proto.js';
import { OutBuffers } from '../../src/api/codec/out-buffers.js';
import { encodeReadBatchList } from '../../src/api/codec/proto-stored.js';
import { outBufferBytes, outBuffersKept } from '../../src/limits.js';
import { crc32 } from '../../src/storage/crc32.js';
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

/** What a path hands each frame to: a running CRC of everything "sent", and the MiB sent. */
class Sink {
  crc = 0;
  bytes = 0;
  send(frame: Uint8Array): void {
    this.crc = crc32(frame, this.crc);
    this.bytes += frame.length;
  }
}

function objects(sink: Sink): void {
  let batch: SequencedRecord[] = [];
  let bytes = 0;
  const flush = () => {
    sink.send(encodeRegularFrame(encodeReadBatch({ records: batch }), 'none'));
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
}

const outBuffers = new OutBuffers(outBufferBytes, outBuffersKept);

function slicedInto(sink: Sink, pooled: boolean): void {
  let list = new RecordList();
  const flush = () => {
    const message = encodeReadBatchList(list, undefined, frameReservedBytes, pooled ? outBuffers.take : undefined);
    sink.send(frameReserved(message, 'none'));
    if (pooled) outBuffers.give(message);
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
}

const paths = {
  objects,
  sliced: (sink: Sink) => slicedInto(sink, false),
  pooled: (sink: Sink) => slicedInto(sink, true),
};
type PathName = keyof typeof paths;
const names = Object.keys(paths) as PathName[];

function cpuMs(fn: (sink: Sink) => void): { ms: number; sink: Sink } {
  const sink = new Sink();
  const before = process.cpuUsage();
  fn(sink);
  const used = process.cpuUsage(before);
  return { ms: (used.user + used.system) / 1000, sink };
}

for (const name of names) paths[name](new Sink()); // warm-up
const totals: Record<string, number> = { objects: 0, sliced: 0, pooled: 0 };
let served = 0;
for (let round = 0; round < rounds; round++) {
  const order = names.map((_, k) => names[(k + round) % names.length]!);
  const got: Partial<Record<PathName, { ms: number; sink: Sink }>> = {};
  for (const name of order) got[name] = cpuMs(paths[name]);
  const crcs = new Set(names.map((n) => `${got[n]!.sink.crc}/${got[n]!.sink.bytes}`));
  if (crcs.size !== 1) throw new Error('benchmark check failed: the paths framed different bytes');
  for (const name of names) totals[name]! += got[name]!.ms;
  served += got.objects!.sink.bytes / (1 << 20);
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
for (const name of names) console.log(`${name}: ${perMiB(totals[name]!)} ms CPU / MiB`);
console.log(`objects / sliced: ${(totals.objects! / totals.sliced!).toFixed(2)}x`);
console.log(`sliced / pooled: ${(totals.sliced! / totals.pooled!).toFixed(2)}x`);

/**
 * The pieces of `bench` that decide its verdict: the XXH3 port (against `xxhsum -H3` vectors),
 * the percentile definition, the record shape, and the chain verifier's detection of bad reads.
 */
import type { ReadRecord } from '@s2-dev/streamstore';
import { describe, expect, it } from 'vitest';
import { ChainVerifier, RecordFactory, recordOverhead } from '../../src/cli/bench/records.js';
import { percentile, summarizeLatencies, throughput } from '../../src/cli/bench/stats.js';
import { liveBlock, progressLines } from '../../src/cli/bench/report.js';
import { xxh3 } from '../../src/util/xxh3.js';

/** Input i has bytes (j * 31 + 7) mod 256; hashes from xxhsum 0.8.1 `-H3` (XXH3_64bits, seed 0). */
const vectors: [number, string][] = [
  [0, '2d06800538d394c2'],
  [1, '4c5cca45d0f4811f'],
  [2, 'a7e250c97710ff27'],
  [3, '15f7093b173d005c'],
  [4, 'dca012f95811b6b9'],
  [7, '7561869c23da3c1b'],
  [8, 'dec6a9a43575982e'],
  [9, 'cbe393399f17ffbd'],
  [15, '545e19990471dc37'],
  [16, '7e484c18d74895d0'],
  [17, '208bde5ee2bed407'],
  [33, '199a362122d71f46'],
  [64, 'dd30702ab46b3745'],
  [65, 'fab36b851b94ce20'],
  [96, 'd245cd2541582982'],
  [97, '60e3e1d0d43785b3'],
  [128, 'f92b70eaa21a6288'],
  [129, 'f8f76713f2bb60fa'],
  [200, '12fdb864685f344d'],
  [240, 'ccc7375172c41f03'],
  [241, '0b3b630948ce4a00'],
  [255, '89932170686cdd9a'],
  [256, 'ec85b75bafe6ca74'],
  [1023, 'f0d330ce2b3300fb'],
  [1024, '23bc880ebf0d29c6'],
  [1025, 'c09fdfbc398c7d82'],
  [1088, 'a16bad67843c5a45'],
  [2000, '19eb4cda7a0f1a0d'],
  [8178, 'dce8368b68253653'],
  [8192, '0cdd09534f247713'],
  [100000, 'ccf90df7e7e37036'],
];

describe('xxh3', () => {
  it.each(vectors)('hashes %i bytes like xxhsum -H3', (length, hex) => {
    const input = new Uint8Array(length);
    for (let j = 0; j < length; j++) input[j] = (j * 31 + 7) & 0xff;
    expect(xxh3(input).toString(16).padStart(16, '0')).toBe(hex);
  });

  it('hashes a view into a larger buffer by its own bytes only', () => {
    const big = new Uint8Array(1100);
    for (let j = 0; j < big.length; j++) big[j] = ((j - 5) * 31 + 7) & 0xff;
    expect(
      xxh3(big.subarray(5, 5 + 1025))
        .toString(16)
        .padStart(16, '0'),
    ).toBe('c09fdfbc398c7d82');
  });
});

describe('percentiles', () => {
  it('uses rank = max(1, ceil(n * p)) into the sorted samples', () => {
    const sorted = Float64Array.from({ length: 10 }, (_, i) => i + 1); // 1..10
    expect(percentile(sorted, 0.5)).toBe(5);
    expect(percentile(sorted, 0.9)).toBe(9);
    expect(percentile(sorted, 0.99)).toBe(10);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile(Float64Array.of(7), 0.5)).toBe(7);
  });

  it('summarizes microsecond samples in milliseconds, sorting numerically', () => {
    const summary = summarizeLatencies([3000, 1000, 20000, 2000, 100000]);
    expect(summary).toEqual({ n: 5, min: 1, p50: 3, p90: 100, p99: 100, max: 100 });
    expect(summarizeLatencies([])).toEqual({ n: 0, min: null, p50: null, p90: null, p99: null, max: null });
  });

  it('reports throughput in MiB/s of metered bytes', () => {
    expect(throughput(256, 8192, 2)).toEqual({
      mibps: 1,
      recordsPerSec: 128,
      records: 256,
      bytes: 2097152,
      seconds: 2,
    });
  });
});

function asRead(
  records: ReturnType<RecordFactory['next']>[],
  seqNums = records.map((_, i) => i),
): ReadRecord<'bytes'>[] {
  return records.map((r, i) => ({
    seqNum: seqNums[i]!,
    timestamp: new Date(Number(r.timestamp)),
    body: r.body,
    headers: (r.headers ?? []).map(([n, v]) => [n as Uint8Array, v as Uint8Array] as const),
  }));
}

describe('bench records', () => {
  it('meter exactly the record size, with a 22-byte overhead', () => {
    expect(recordOverhead).toBe(22);
    for (const size of [128, 1000, 8192, 1024 * 1024]) {
      const record = new RecordFactory(size).next(1);
      expect(record.meteredBytes).toBe(size);
      expect(record.body.length).toBe(size - 22);
    }
    expect(() => new RecordFactory(127)).toThrow(/between 128 B and 1 MiB/);
    expect(() => new RecordFactory(1024 * 1024 + 1)).toThrow(/between 128 B and 1 MiB/);
  });

  it('verify an intact sequence and end on the writer’s final hash', () => {
    const factory = new RecordFactory(256);
    const records = Array.from({ length: 50 }, (_, i) => factory.next(i));
    const verifier = new ChainVerifier('live', 256 - 22);
    for (const r of asRead(records)) verifier.feed(r);
    expect(verifier.problem).toBeUndefined();
    expect(verifier.count).toBe(50);
    expect(verifier.lastHash).toBe(factory.chain.last);
  });

  it('detect a lost, duplicated, reordered or corrupted record', () => {
    const factory = new RecordFactory(256);
    const records = asRead(Array.from({ length: 5 }, (_, i) => factory.next(i)));
    const run = (sequence: ReadRecord<'bytes'>[]) => {
      const verifier = new ChainVerifier('live', 256 - 22);
      for (const r of sequence) verifier.feed(r);
      return verifier.problem;
    };
    expect(run([records[0]!, records[2]!])).toMatch(/record 2: expected seq_num 1/);
    // Same content delivered again under the next sequence number.
    expect(run([records[0]!, records[1]!, { ...records[1]!, seqNum: 2 }])).toMatch(/record 2: duplicate/);
    expect(run([records[0]!, { ...records[2]!, seqNum: 1 }])).toMatch(/record 1: hash chain mismatch/);
    const corrupted = { ...records[3]!, body: Uint8Array.from(records[3]!.body, (b, i) => (i === 0 ? b ^ 1 : b)) };
    expect(run([records[0]!, records[1]!, records[2]!, corrupted])).toMatch(/record 3: hash chain mismatch/);
    expect(run([{ ...records[0]!, headers: [] }])).toMatch(/missing `hash` header/);
    expect(run([{ ...records[0]!, body: records[0]!.body.subarray(1) }])).toMatch(/body is 233 bytes/);
  });
});

describe('progress display', () => {
  it('redraws its block in place and erases it when stopped', () => {
    const writes: string[] = [];
    const fake = { columns: 40, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    let lines = ['first line', 'second line that is much longer than forty columns of terminal'];
    const block = liveBlock(fake, () => lines, 1000);
    lines = ['only one'];
    block.stop();
    expect(writes[0]).toBe('\x1b[2Kfirst line\n\x1b[2Ksecond line that is much longer than fo\n');
    expect(writes.at(-1)).toBe('\x1b[2A\r\x1b[J');
  });

  it('shows rates over the elapsed time and the catch-up countdown', () => {
    const lines = progressLines(
      {
        phase: 'waiting for catch-up',
        elapsedMs: 2000,
        written: 300,
        acked: 256,
        read: 128,
        caughtUp: 0,
        catchupStartsInMs: 1500,
      },
      8192,
      60_000,
    );
    expect(lines[0]).toBe('bench: waiting for catch-up  2.0 s / 60 s');
    expect(lines[1]).toMatch(/Write \(acked\) +1\.00 MiB\/s +128 records\/s {2}256 records$/);
    expect(lines[2]).toMatch(/Read {2}\(live\) +0\.50 MiB\/s +64 records\/s {2}128 records$/);
    expect(lines[3]).toBe('  Catchup starts in 1.5 s');
  });
});

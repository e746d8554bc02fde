/**
 * The benchmark's S2S read-session decoder (bench/ours/s2s-records.ts) decodes records in place in
 * the chunks they arrive in. Checked against the reference path (FrameReader, then decodeReadBatch
 * per frame) on one body of every frame kind, cut every way that matters: single bytes (every unit
 * cut at every offset), seeded random cuts, and every two-chunk split. Records are compared after
 * the whole body was pushed, so a record left pointing into memory the decoder reuses would show.
 */
import { describe, expect, it } from 'vitest';
import { S2SRecordReader } from '../../bench/ours/s2s-records.js';
import { decodeReadBatch } from '../../src/api/codec/proto-client.js';
import { encodeReadBatch } from '../../src/api/codec/proto.js';
import type { SequencedRecord } from '../../src/domain/types.js';
import { FrameReader } from '../../src/api/s2s/reader.js';
import { encodeRegularFrame, encodeTerminalFrame, parseTerminalPayload } from '../../src/api/s2s/frame.js';

function bytes(n: number, seed: number): Uint8Array {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

let seq = 0;
function record(bodyBytes: number, headers = 0, timestamp = 1_700_000_000_000n): SequencedRecord {
  const s = seq++;
  return {
    seqNum: s,
    timestamp: timestamp + BigInt(s),
    headers: Array.from({ length: headers }, (_, i) => [bytes(3 + i, s), bytes(i, s + 1)] as [Uint8Array, Uint8Array]),
    body: bytes(bodyBytes, s),
  };
}

const frames: Uint8Array[] = [
  encodeRegularFrame(encodeReadBatch({ records: Array.from({ length: 40 }, () => record(1024)) }), 'none'),
  encodeRegularFrame(encodeReadBatch({ records: [record(0), record(1, 2), record(200, 1, 2n ** 63n)] }), 'none'),
  // A body larger than the 128-byte varint boundary many times over, and one over 64 KiB.
  encodeRegularFrame(encodeReadBatch({ records: [record(70_000), record(300)] }), 'none'),
  // Heartbeat: a tail and no records; an empty batch (the frame is only its flag).
  encodeRegularFrame(encodeReadBatch({ records: [], tail: { seqNum: 5, timestamp: 9n } }), 'none'),
  encodeRegularFrame(new Uint8Array(0), 'none'),
  encodeRegularFrame(encodeReadBatch({ records: [record(10)], tail: { seqNum: 99, timestamp: 1n } }), 'none'),
  encodeRegularFrame(encodeReadBatch({ records: Array.from({ length: 20 }, () => record(500)) }), 'zstd'),
  encodeRegularFrame(encodeReadBatch({ records: Array.from({ length: 5 }, () => record(100, 1)) }), 'gzip'),
  encodeTerminalFrame(416, '{"code":"range_not_satisfiable","message":"past the tail"}'),
];
const body = Buffer.concat(frames);

interface Decoded {
  records: SequencedRecord[];
  terminals: { status: number; body: string }[];
}

function reference(): Decoded {
  const out: Decoded = { records: [], terminals: [] };
  for (const frame of new FrameReader().push(body)) {
    if (frame.terminal) out.terminals.push(parseTerminalPayload(frame.payload));
    else out.records.push(...decodeReadBatch(frame.payload).records);
  }
  return out;
}

function decode(chunks: Uint8Array[]): Decoded {
  const out: Decoded = { records: [], terminals: [] };
  const reader = new S2SRecordReader({
    records: (records) => out.records.push(...records),
    terminal: (status, b) => out.terminals.push({ status, body: b }),
  });
  for (const chunk of chunks) reader.push(chunk);
  reader.end();
  return out;
}

/** Records as plain data, so bodies compare by content whatever buffer they are views of. */
function plain(d: Decoded) {
  return {
    records: d.records.map((r) => ({
      seqNum: r.seqNum,
      timestamp: r.timestamp,
      headers: r.headers.map(([n, v]) => [Buffer.from(n).toString('hex'), Buffer.from(v).toString('hex')]),
      body: Buffer.from(r.body).toString('hex'),
    })),
    terminals: d.terminals,
  };
}

/** Cuts `buf` at `at` (sorted offsets); every chunk is a copy, as Node's HTTP parser hands them over. */
function cut(buf: Uint8Array, at: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, buf.length]) {
    chunks.push(Buffer.from(buf.subarray(from, to)));
    from = to;
  }
  return chunks;
}

describe('S2SRecordReader', () => {
  const expected = plain(reference());

  it('decodes the reference records of a body in one chunk', () => {
    expect(expected.records.length).toBe(40 + 3 + 2 + 1 + 20 + 5);
    expect(expected.terminals).toHaveLength(1);
    expect(plain(decode([body]))).toEqual(expected);
  });

  it('decodes the same records from single-byte chunks', () => {
    const at = Array.from({ length: body.length - 1 }, (_, i) => i + 1);
    expect(plain(decode(cut(body, at)))).toEqual(expected);
  });

  it('decodes the same records from seeded random cuts', () => {
    let state = 12345;
    const rand = (n: number) => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % n;
    };
    for (let round = 0; round < 200; round++) {
      const at = new Set<number>();
      const cuts = 1 + rand(60);
      // Mostly small pieces around unit boundaries, and some chunk-sized ones.
      for (let i = 0; i < cuts; i++) at.add(1 + rand(body.length - 1));
      expect(plain(decode(cut(body, [...at].sort((a, b) => a - b))))).toEqual(expected);
    }
  });

  it('decodes the same records from every two-chunk split of the small frames', () => {
    const small = Buffer.concat(frames.slice(1, 2).concat(frames.slice(3)));
    const want = plain((() => {
      const out: Decoded = { records: [], terminals: [] };
      for (const frame of new FrameReader().push(small)) {
        if (frame.terminal) out.terminals.push(parseTerminalPayload(frame.payload));
        else out.records.push(...decodeReadBatch(frame.payload).records);
      }
      return out;
    })());
    for (let at = 1; at < small.length; at++) {
      const out: Decoded = { records: [], terminals: [] };
      const reader = new S2SRecordReader({
        records: (records) => out.records.push(...records),
        terminal: (status, b) => out.terminals.push({ status, body: b }),
      });
      for (const chunk of cut(small, [at])) reader.push(chunk);
      reader.end();
      expect(plain(out)).toEqual(want);
    }
  });

  it('decodes many small records from chunks of every size up to 64 bytes', () => {
    // Small records cut in their heads complete inside the next chunk's first bytes: the decoder
    // reuses the memory it stitches such heads in, which no record may keep pointing into.
    const tiny = Buffer.concat([
      encodeRegularFrame(encodeReadBatch({ records: Array.from({ length: 60 }, (_, i) => record(i % 13, i % 2)) }), 'none'),
      encodeRegularFrame(encodeReadBatch({ records: Array.from({ length: 30 }, (_, i) => record(i % 5)) }), 'none'),
    ]);
    const want: Decoded = { records: [], terminals: [] };
    for (const frame of new FrameReader().push(tiny)) want.records.push(...decodeReadBatch(frame.payload).records);
    for (let size = 1; size <= 64; size++) {
      const at: number[] = [];
      for (let i = size; i < tiny.length; i += size) at.push(i);
      expect(plain(decode(cut(tiny, at)))).toEqual(plain(want));
    }
  });

  it('decodes a bare ReadBatch (a unary protobuf page) from any cuts', () => {
    const records = [...Array.from({ length: 30 }, (_, i) => record(i * 97, i % 3)), record(70_000), record(0)];
    const page = encodeReadBatch({ records, tail: { seqNum: 77, timestamp: 3n } });
    const want = plain({ records: decodeReadBatch(page).records, terminals: [] });
    let state = 777;
    for (let round = 0; round < 100; round++) {
      const at = new Set<number>();
      for (let i = 0; i < 1 + (round % 40); i++) {
        state = (state * 1103515245 + 12345) & 0x7fffffff;
        at.add(1 + (state % (page.length - 1)));
      }
      const out: Decoded = { records: [], terminals: [] };
      const reader = new S2SRecordReader({ records: (r) => out.records.push(...r), terminal: () => {} }, false);
      for (const chunk of cut(page, [...at].sort((a, b) => a - b))) reader.push(chunk);
      reader.end();
      expect(plain(out)).toEqual(want);
    }
    const truncated = new S2SRecordReader({ records: () => {}, terminal: () => {} }, false);
    truncated.push(page.subarray(0, 1000));
    expect(() => truncated.end()).toThrow(/inside a field/);
  });

  it('throws when the body ends inside a frame', () => {
    const reader = new S2SRecordReader({ records: () => {}, terminal: () => {} });
    reader.push(body.subarray(0, 100));
    expect(() => reader.end()).toThrow(/inside a frame/);
  });

  it('throws when a field runs past the end of its frame', () => {
    // A frame whose length covers only part of its one record.
    const payload = encodeReadBatch({ records: [record(50)] });
    const frame = encodeRegularFrame(payload, 'none');
    const short = Buffer.from(frame.subarray(0, 4 + 20));
    short[2] = 21; // length = flag + 20 payload bytes
    short[0] = short[1] = 0;
    const reader = new S2SRecordReader({ records: () => {}, terminal: () => {} });
    expect(() => reader.push(short)).toThrow(/past its frame/);
  });
});

import { describe, expect, it } from 'vitest';
import { decodeAppendInput, encodeAppendAck, encodeReadBatch, type ReadBatch } from '../../../src/api/codec/proto.js';
import { decodeAppendAck, decodeReadBatch, encodeAppendInput } from '../../../src/api/codec/proto-client.js';
import type { AppendAck, AppendInput, AppendRecord, StreamPosition } from '../../../src/domain/types.js';
import { S2Error } from '../../../src/domain/errors.js';
import {
  U64_MAX,
  expectS2Error,
  fromHex,
  hex,
  loadOracle,
  randAppendRecord,
  randBytes,
  randInt,
  randSequencedRecord,
  randU64,
  seededRand,
} from './helpers.js';

const oracle = loadOracle();
const long = (v: bigint | number) => oracle.Long.fromString(v.toString(), true);

// ----- conversions between domain values and protobufjs plain objects -----

function posToOracle(p: StreamPosition) {
  return { seqNum: long(p.seqNum), timestamp: long(p.timestamp) };
}

function appendInputToOracle(input: AppendInput) {
  return {
    records: input.records.map((r) => ({
      ...(r.timestamp !== undefined ? { timestamp: long(r.timestamp) } : {}),
      headers: r.headers.map(([name, value]) => ({ name, value })),
      body: r.body,
    })),
    ...(input.matchSeqNum !== undefined ? { matchSeqNum: long(input.matchSeqNum) } : {}),
    ...(input.fencingToken !== undefined ? { fencingToken: input.fencingToken } : {}),
  };
}

function readBatchToOracle(batch: ReadBatch) {
  return {
    records: batch.records.map((r) => ({
      seqNum: long(r.seqNum),
      timestamp: long(r.timestamp),
      headers: r.headers.map(([name, value]) => ({ name, value })),
      body: r.body,
    })),
    ...(batch.tail ? { tail: posToOracle(batch.tail) } : {}),
  };
}

type OracleObject = Record<string, unknown>;
const toObjectOptions = { longs: String, bytes: Array, defaults: true, arrays: true };

function oracleDecodeAppendInput(bytes: Uint8Array): AppendInput {
  const msg = oracle.AppendInput.decode(bytes);
  const obj = oracle.AppendInput.toObject(msg, toObjectOptions) as OracleObject;
  const raw = msg as unknown as OracleObject & { records: OracleObject[] };
  const input: AppendInput = {
    records: (obj.records as OracleObject[]).map((r, i) => {
      const rec: AppendRecord = {
        headers: (r.headers as OracleObject[]).map((h) => [
          new Uint8Array(h.name as number[]),
          new Uint8Array(h.value as number[]),
        ]),
        body: new Uint8Array(r.body as number[]),
      };
      // proto3 `optional`: presence is an own property on the decoded message.
      if (Object.hasOwn(raw.records[i], 'timestamp')) rec.timestamp = BigInt(r.timestamp as string);
      return rec;
    }),
  };
  if (Object.hasOwn(raw, 'matchSeqNum')) input.matchSeqNum = Number(obj.matchSeqNum as string);
  if (Object.hasOwn(raw, 'fencingToken')) input.fencingToken = obj.fencingToken as string;
  return input;
}

function oraclePos(obj: OracleObject): StreamPosition {
  return { seqNum: Number(obj.seqNum as string), timestamp: BigInt(obj.timestamp as string) };
}

function oracleDecodeReadBatch(bytes: Uint8Array): ReadBatch {
  const msg = oracle.ReadBatch.decode(bytes);
  const obj = oracle.ReadBatch.toObject(msg, toObjectOptions) as OracleObject;
  const batch: ReadBatch = {
    records: (obj.records as OracleObject[]).map((r) => ({
      seqNum: Number(r.seqNum as string),
      timestamp: BigInt(r.timestamp as string),
      headers: (r.headers as OracleObject[]).map((h) => [
        new Uint8Array(h.name as number[]),
        new Uint8Array(h.value as number[]),
      ]),
      body: new Uint8Array(r.body as number[]),
    })),
  };
  if (Object.hasOwn(msg, 'tail') && (msg as unknown as OracleObject).tail != null) {
    batch.tail = oraclePos(obj.tail as OracleObject);
  }
  return batch;
}

/** Normalises values for deep equality: byte arrays (Buffer or Uint8Array views) become hex, bigints tagged. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `hex:${hex(value)}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** Hex of a varint (for hand-built messages). */
function varintHex(n: number): string {
  let out = '';
  while (n > 0x7f) {
    out += ((n & 0x7f) | 0x80).toString(16).padStart(2, '0');
    n >>>= 7;
  }
  return out + n.toString(16).padStart(2, '0');
}

function randReadBatch(seed: number): ReadBatch {
  const rand = seededRand(seed);
  const n = randInt(rand, 0, 6);
  const start = randInt(rand, 0, 2 ** 40);
  const records = Array.from({ length: n }, (_, i) => randSequencedRecord(rand, start + i));
  const batch: ReadBatch = { records };
  if (rand.next() < 0.5) batch.tail = { seqNum: start + n + randInt(rand, 0, 3), timestamp: randU64(rand) };
  return batch;
}

function randAppendInput(seed: number): AppendInput {
  const rand = seededRand(seed);
  const input: AppendInput = {
    records: Array.from({ length: randInt(rand, 0, 5) }, () => randAppendRecord(rand)),
  };
  if (rand.next() < 0.5) input.matchSeqNum = randInt(rand, 0, 1) ? randInt(rand, 0, 300) : Number.MAX_SAFE_INTEGER;
  if (rand.next() < 0.5) input.fencingToken = ['', 'tok', 'ünï€😀', 'x'.repeat(40)][randInt(rand, 0, 3)];
  return input;
}

describe('api.md section 15 examples', () => {
  it('decodes the append input with body "hi"', () => {
    const input = decodeAppendInput(fromHex('0a 04 1a 02 68 69'));
    expect(input.matchSeqNum).toBeUndefined();
    expect(input.fencingToken).toBeUndefined();
    expect(input.records).toHaveLength(1);
    expect(input.records[0].timestamp).toBeUndefined();
    expect(input.records[0].headers).toEqual([]);
    expect(Buffer.from(input.records[0].body).toString()).toBe('hi');
  });

  it('encodes the append input with body "hi"', () => {
    expect(hex(encodeAppendInput({ records: [{ headers: [], body: Buffer.from('hi') }] }))).toBe('0a041a026869');
  });

  it('encodes the heartbeat ReadBatch with tail {5, 1000}', () => {
    expect(hex(encodeReadBatch({ records: [], tail: { seqNum: 5, timestamp: 1000n } }))).toBe('12050805' + '10e807');
    expect(decodeReadBatch(fromHex('12 05 08 05 10 e8 07'))).toEqual({
      records: [],
      tail: { seqNum: 5, timestamp: 1000n },
    });
  });
});

describe('against the protobufjs reflection oracle', () => {
  it('ReadBatch: identical bytes and round trips (300 random batches)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const batch = randReadBatch(seed);
      const ours = encodeReadBatch(batch);
      const theirs = oracle.ReadBatch.encode(oracle.ReadBatch.fromObject(readBatchToOracle(batch))).finish();
      expect(hex(ours), `seed ${seed}`).toBe(hex(theirs));
      expect(plain(oracleDecodeReadBatch(ours))).toEqual(plain(batch));
      expect(plain(decodeReadBatch(theirs))).toEqual(plain(batch));
    }
  });

  it('AppendInput: identical bytes and round trips (300 random inputs)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const input = randAppendInput(seed);
      const theirs = oracle.AppendInput.encode(oracle.AppendInput.fromObject(appendInputToOracle(input))).finish();
      const ours = encodeAppendInput(input);
      expect(hex(ours), `seed ${seed}`).toBe(hex(theirs));
      expect(plain(decodeAppendInput(theirs))).toEqual(plain(input));
      expect(plain(oracleDecodeAppendInput(ours))).toEqual(plain(input));
    }
  });

  it('AppendAck: identical bytes, including all-zero positions', () => {
    const rand = seededRand(7);
    for (let i = 0; i < 100; i++) {
      const pos = () => ({ seqNum: i % 10 === 0 ? 0 : randInt(rand, 0, 2 ** 53 - 1), timestamp: randU64(rand) });
      const ack: AppendAck = { start: pos(), end: pos(), tail: pos() };
      const theirs = oracle.AppendAck.encode(
        oracle.AppendAck.fromObject({
          start: posToOracle(ack.start),
          end: posToOracle(ack.end),
          tail: posToOracle(ack.tail),
        }),
      ).finish();
      expect(hex(encodeAppendAck(ack))).toBe(hex(theirs));
      expect(decodeAppendAck(theirs)).toEqual(ack);
    }
    const zero = { seqNum: 0, timestamp: 0n };
    expect(hex(encodeAppendAck({ start: zero, end: zero, tail: zero }))).toBe('0a001200' + '1a00');
  });
});

describe('u64 and presence', () => {
  it('round-trips u64::MAX timestamps exactly', () => {
    const batch: ReadBatch = {
      records: [{ seqNum: 3, timestamp: U64_MAX, headers: [], body: new Uint8Array(0) }],
      tail: { seqNum: 4, timestamp: U64_MAX },
    };
    const bytes = encodeReadBatch(batch);
    expect(hex(bytes)).toContain('ffffffffffffffffff01');
    expect(decodeReadBatch(bytes)).toEqual(batch);
    const input = decodeAppendInput(
      encodeAppendInput({ records: [{ timestamp: U64_MAX, headers: [], body: new Uint8Array(0) }] }),
    );
    expect(input.records[0].timestamp).toBe(U64_MAX);
  });

  it('keeps timestamps around 2^53 exact', () => {
    for (const ts of [2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 2n]) {
      const input = decodeAppendInput(
        encodeAppendInput({ records: [{ timestamp: ts, headers: [], body: new Uint8Array(0) }] }),
      );
      expect(input.records[0].timestamp).toBe(ts);
    }
  });

  it('decodes match_seq_num above 2^53 - 1 as Infinity (never matches), and exact values below', () => {
    const encode = (v: bigint) =>
      oracle.AppendInput.encode(oracle.AppendInput.fromObject({ records: [], matchSeqNum: long(v) })).finish();
    expect(decodeAppendInput(encode(2n ** 53n - 1n)).matchSeqNum).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeAppendInput(encode(2n ** 53n)).matchSeqNum).toBe(Infinity);
    expect(decodeAppendInput(encode(U64_MAX)).matchSeqNum).toBe(Infinity);
  });

  it('distinguishes an explicit zero timestamp / match_seq_num / empty token from absence', () => {
    const present = encodeAppendInput({
      records: [{ timestamp: 0n, headers: [], body: new Uint8Array(0) }],
      matchSeqNum: 0,
      fencingToken: '',
    });
    expect(hex(present)).toBe('0a020800' + '1000' + '1a00');
    const decoded = decodeAppendInput(present);
    expect(decoded.records[0].timestamp).toBe(0n);
    expect(decoded.matchSeqNum).toBe(0);
    expect(decoded.fencingToken).toBe('');
    const absent = decodeAppendInput(encodeAppendInput({ records: [{ headers: [], body: new Uint8Array(0) }] }));
    expect(hex(encodeAppendInput(absent))).toBe('0a00');
    expect('timestamp' in absent.records[0]).toBe(false);
    expect('matchSeqNum' in absent).toBe(false);
    expect('fencingToken' in absent).toBe(false);
  });

  it('ReadBatch tail: absent vs present-but-zero', () => {
    expect(hex(encodeReadBatch({ records: [] }))).toBe('');
    expect(hex(encodeReadBatch({ records: [], tail: { seqNum: 0, timestamp: 0n } }))).toBe('1200');
    expect(decodeReadBatch(fromHex('1200')).tail).toEqual({ seqNum: 0, timestamp: 0n });
    expect(decodeReadBatch(new Uint8Array(0)).tail).toBeUndefined();
  });

  it('preserves empty header names/values, duplicates and order', () => {
    const h = (n: string, v: string) => [Buffer.from(n), Buffer.from(v)] as [Uint8Array, Uint8Array];
    const input: AppendInput = {
      records: [{ headers: [h('', 'fence'), h('a', ''), h('a', '1'), h('', '')], body: Buffer.from('t') }],
    };
    expect(plain(decodeAppendInput(encodeAppendInput(input)))).toEqual(plain(input));
  });

  it('decodes a large batch (1000 x 1 KiB) exactly', () => {
    const rand = seededRand(99);
    const records = Array.from({ length: 1000 }, (_, i) => ({
      seqNum: i,
      timestamp: BigInt(1_755_770_400_000 + i),
      headers: [[Buffer.from('k'), randBytes(rand, 16)]] as [Uint8Array, Uint8Array][],
      body: randBytes(rand, 1024),
    }));
    const bytes = encodeReadBatch({ records });
    expect(hex(bytes)).toBe(
      hex(oracle.ReadBatch.encode(oracle.ReadBatch.fromObject(readBatchToOracle({ records }))).finish()),
    );
    expect(plain(decodeReadBatch(bytes))).toEqual(plain({ records }));
  });
});

describe('merging and unknown fields', () => {
  it('skips unknown fields of every wire type, at every nesting level', () => {
    const unknown = [
      '78 96 01', // field 15 varint
      '79 0102030405060708', // field 15 i64
      '7a 03 616263', // field 15 len
      '7d 01020304', // field 15 i32
      '7b 08 01 7a 01 61 7b 7c 7c', // field 15 group containing a varint, a len and a nested group
    ].join('');
    const header = `${unknown}0a 01 6b ${unknown}12 01 76`;
    const record = `${unknown}08 05 12 ${varintHex(fromHex(header).length)} ${header} 1a 02 6869 ${unknown}`;
    const body = `${unknown}0a ${varintHex(fromHex(record).length)} ${record} 10 07 ${unknown}1a 01 74`;
    const input = decodeAppendInput(fromHex(body));
    expect(plain(input)).toEqual(
      plain({
        records: [{ timestamp: 5n, headers: [[Buffer.from('k'), Buffer.from('v')]], body: Buffer.from('hi') }],
        matchSeqNum: 7,
        fencingToken: 't',
      }),
    );
  });

  it('last scalar wins; repeated embedded positions merge', () => {
    const input = decodeAppendInput(fromHex('10 01 10 02 1a 01 61 1a 01 62'));
    expect(input.matchSeqNum).toBe(2);
    expect(input.fencingToken).toBe('b');
    const batch = decodeReadBatch(fromHex('12 02 08 05 12 02 10 07'));
    expect(batch.tail).toEqual({ seqNum: 5, timestamp: 7n });
  });
});

describe('malformed input -> bad_proto', () => {
  const cases: [string, string][] = [
    ['truncated varint (match_seq_num)', '10'],
    ['truncated multi-byte varint', '10 ff ff'],
    ['varint longer than 10 bytes', '10 ff ff ff ff ff ff ff ff ff 80 01'],
    ['tenth varint byte above 1', '10 ff ff ff ff ff ff ff ff ff 02'],
    ['length past the end', '0a 05 1a 02 68 69'],
    ['bytes length past the embedded message', '0a 03 1a 05 68 69 69'],
    ['header length past the record', '0a 04 12 05 0a 01'],
    ['records with varint wire type', '08 01'],
    ['match_seq_num with len wire type', '12 01 00'],
    ['fencing_token with varint wire type', '18 01'],
    ['record timestamp with i32 wire type', '0a 05 0d 00 00 00 00'],
    ['header name with varint wire type', '0a 04 12 02 08 01'],
    ['field number 0', '00 01'],
    ['wire type 6', '0e'],
    ['wire type 7', '0f'],
    ['end group without start', '0c'],
    ['unterminated group', '0b 08 01'],
    ['mismatched end group', '0b 14'],
    ['truncated i64', '79 01 02'],
    ['truncated i32', '7d 01'],
    ['fencing token not UTF-8', '1a 01 ff'],
    ['fencing token with a lone surrogate encoding', '1a 03 ed a0 80'],
    ['key above u32', '80 80 80 80 80 01 00'],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      expectS2Error(() => decodeAppendInput(fromHex(bytes)), 'bad_proto');
    });
  }

  it('refuses deeply nested unknown groups', () => {
    const depth = 200;
    const bytes = fromHex('7b'.repeat(depth) + '7c'.repeat(depth));
    expectS2Error(() => decodeAppendInput(bytes), 'bad_proto', 'recursion');
    expect(decodeAppendInput(fromHex('7b'.repeat(50) + '7c'.repeat(50)))).toEqual({ records: [] });
  });

  it('ReadBatch and AppendAck decoders reject malformed input and oversized seq_nums', () => {
    expectS2Error(() => decodeReadBatch(fromHex('12 05 08 05')), 'bad_proto');
    expectS2Error(() => decodeAppendAck(fromHex('0a 02 08')), 'bad_proto');
    expectS2Error(() => decodeReadBatch(fromHex('12 09 08 80 80 80 80 80 80 80 10')), 'bad_proto', '2^53');
  });

  it('mutated valid inputs either decode or fail with bad_proto, never anything else', () => {
    const rand = seededRand(2024);
    let failures = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = new Uint8Array(encodeAppendInput(randAppendInput(i % 50)));
      if (bytes.length === 0) continue;
      for (let m = randInt(rand, 1, 3); m > 0; m--) bytes[randInt(rand, 0, bytes.length - 1)] = randInt(rand, 0, 255);
      const cut = rand.next() < 0.3 ? bytes.subarray(0, randInt(rand, 0, bytes.length)) : bytes;
      try {
        decodeAppendInput(cut);
      } catch (e) {
        expect(e).toBeInstanceOf(S2Error);
        expect((e as S2Error).code).toBe('bad_proto');
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(100); // the mutations did exercise the error paths
  });
});

describe('zero-copy decoding', () => {
  it('bytes fields are views of the input', () => {
    const bytes = fromHex('0a 04 1a 02 68 69');
    const body = decodeAppendInput(bytes).records[0].body;
    expect(body.buffer).toBe(bytes.buffer);
    expect(body.byteOffset).toBe(4);
  });
});

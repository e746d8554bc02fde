import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import zstd from 'zstd-napi';
import { encodeReadBatch, decodeAppendInput } from '../../../src/api/codec/proto.js';
import {
  compress,
  decompressBounded,
  negotiateCompression,
  type Compression,
} from '../../../src/api/s2s/compression.js';
import {
  decodeFrameBody,
  encodeRegularFrame,
  encodeTerminalFrame,
  parseTerminalPayload,
  type Frame,
} from '../../../src/api/s2s/frame.js';
import { FrameReader } from '../../../src/api/s2s/reader.js';
import { S2Error } from '../../../src/domain/errors.js';
import { compressionThresholdBytes, s2sFrameBytesMax, s2sPayloadBytesMax } from '../../../src/limits.js';
import { expectS2Error, fromHex, hex, randBytes, seededRand } from './helpers.js';

/** Compressible but not trivial data. */
function text(n: number, seed = 1): Uint8Array {
  const rand = seededRand(seed);
  const words = ['stream', 'record', 'append', 'basin', 'tail', 'seq', 'fence', 'trim'];
  let s = '';
  while (s.length < n) s += words[Math.floor(rand.next() * words.length)] + ' ';
  return new Uint8Array(Buffer.from(s.slice(0, n)));
}

/** Splits a frame produced by our encoder into its decoded form. */
function decodeOne(bytes: Uint8Array): Frame {
  const length = (bytes[0] << 16) | (bytes[1] << 8) | bytes[2];
  expect(bytes.length).toBe(3 + length);
  return decodeFrameBody(bytes.subarray(3));
}

function readAll(reader: FrameReader, chunks: Uint8Array[]): Frame[] {
  const frames: Frame[] = [];
  for (const chunk of chunks) for (const f of reader.push(chunk)) frames.push(f);
  reader.end();
  return frames;
}

function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

function summary(frames: Frame[]) {
  return frames.map((f) => ({ terminal: f.terminal, compression: f.compression, payload: hex(f.payload) }));
}

describe('api.md section 15 frames', () => {
  it('append input, one record body "hi"', () => {
    const payload = fromHex('0a 04 1a 02 68 69');
    const expected = '000007' + '00' + '0a041a026869';
    for (const c of ['none', 'zstd', 'gzip'] as const) expect(hex(encodeRegularFrame(payload, c))).toBe(expected);
    const [frame] = readAll(new FrameReader(), [fromHex(expected)]);
    expect(frame.terminal).toBe(false);
    expect(Buffer.from(decodeAppendInput(frame.payload).records[0].body).toString()).toBe('hi');
  });

  it('heartbeat ReadBatch with tail {5, 1000}', () => {
    const payload = encodeReadBatch({ records: [], tail: { seqNum: 5, timestamp: 1000n } });
    expect(hex(encodeRegularFrame(payload, 'zstd'))).toBe('000008' + '00' + '1205080510e807');
  });

  it('terminal 412 {"seq_num_mismatch":5}', () => {
    const json = '{"seq_num_mismatch":5}';
    expect(json.length).toBe(22);
    const bytes = encodeTerminalFrame(412, json);
    expect(hex(bytes)).toBe('000019' + '80' + '019c' + Buffer.from(json).toString('hex'));
    const frame = decodeOne(bytes);
    expect(frame).toMatchObject({ terminal: true, compression: 'none' });
    expect(parseTerminalPayload(frame.payload)).toEqual({ status: 412, body: json });
  });

  it('compressed flags are 0x20 (zstd) and 0x40 (gzip)', () => {
    const payload = text(4096);
    expect(encodeRegularFrame(payload, 'zstd')[3]).toBe(0x20);
    expect(encodeRegularFrame(payload, 'gzip')[3]).toBe(0x40);
  });
});

describe('encodeRegularFrame and compression', () => {
  for (const c of ['none', 'zstd', 'gzip'] as const) {
    it(`round-trips with ${c} below, at and above the ${compressionThresholdBytes}-byte threshold`, () => {
      for (const n of [
        0,
        1,
        compressionThresholdBytes - 1,
        compressionThresholdBytes,
        compressionThresholdBytes + 1,
        300_000,
      ]) {
        const payload = text(n, n);
        const bytes = encodeRegularFrame(payload, c);
        const frame = decodeOne(bytes);
        const compressed = c !== 'none' && n >= compressionThresholdBytes;
        expect(frame.compression, `n=${n}`).toBe(compressed ? c : 'none');
        expect(bytes[3] & 0x60).toBe(compressed ? (c === 'zstd' ? 0x20 : 0x40) : 0);
        if (compressed && n > 10_000) expect(bytes.length).toBeLessThan(n / 2);
        expect(hex(frame.payload)).toBe(hex(payload));
      }
    });
  }

  it('encodes payloads up to the frame limit and refuses larger ones', () => {
    const max = new Uint8Array(s2sPayloadBytesMax);
    const bytes = encodeRegularFrame(max, 'none');
    expect(hex(bytes.subarray(0, 4))).toBe('20000000'); // length 0x200000 = s2sFrameBytesMax
    expect(s2sFrameBytesMax).toBe(0x200000);
    expectS2Error(() => encodeRegularFrame(new Uint8Array(s2sPayloadBytesMax + 1), 'none'), 'other', 'exceeds');
    expectS2Error(() => encodeTerminalFrame(500, 'x'.repeat(s2sFrameBytesMax)), 'other');
  });

  it('sends incompressible data near the limit uncompressed when compressing would not fit', () => {
    const rand = seededRand(1);
    const noise = new Uint8Array(s2sPayloadBytesMax);
    for (let i = 0; i < noise.length; i += 4) {
      const word = Math.floor(rand.next() * 2 ** 32);
      noise[i] = word;
      noise[i + 1] = word >>> 8;
      noise[i + 2] = word >>> 16;
      noise[i + 3] = word >>> 24;
    }
    const bytes = encodeRegularFrame(noise, 'gzip');
    expect(bytes[3]).toBe(0);
    expect(bytes.length).toBe(3 + s2sFrameBytesMax);
  });

  it('decodes frames compressed by other encoders (zlib gzip, multi-frame and size-less zstd)', () => {
    const payload = text(50_000, 9);
    const gz = zlib.gzipSync(payload, { level: 9 });
    const twoZstdFrames = Buffer.concat([
      zstd.compress(payload.subarray(0, 20_000)),
      zstd.compress(payload.subarray(20_000)),
    ]);
    const sizeless = zstd.compress(payload, { contentSizeFlag: false });
    for (const [flag, body] of [
      [0x40, gz],
      [0x20, twoZstdFrames],
      [0x20, sizeless],
    ] as const) {
      const frame = decodeFrameBody(Buffer.concat([Buffer.from([flag]), body]));
      expect(hex(frame.payload)).toBe(hex(payload));
    }
  });

  it('ignores the reconnect and reserved bits on input', () => {
    const frame = decodeFrameBody(fromHex('1f 0a 00'));
    expect(frame).toMatchObject({ terminal: false, compression: 'none' });
    expect(hex(frame.payload)).toBe('0a00');
    expect(decodeFrameBody(fromHex('9f 01 9c')).terminal).toBe(true);
  });

  it('rejects compression bits 11', () => {
    expectS2Error(() => decodeFrameBody(fromHex('60 00')), 'bad_frame', 'unknown compression algorithm');
    expectS2Error(() => decodeFrameBody(fromHex('e0 00')), 'bad_frame', 'unknown compression algorithm');
  });

  it('rejects garbage, truncated and empty compressed payloads', () => {
    const payload = text(5000);
    const z = zstd.compress(payload);
    const g = zlib.gzipSync(payload);
    const cases: [number, Uint8Array][] = [
      [0x20, new Uint8Array(0)],
      [0x40, new Uint8Array(0)],
      [0x20, new Uint8Array(Buffer.from('definitely not zstd'))],
      [0x40, new Uint8Array(Buffer.from('definitely not gzip'))],
      [0x20, z.subarray(0, z.length - 5)],
      [0x40, g.subarray(0, g.length - 10)],
      [0x20, zstd.compress(payload, { contentSizeFlag: false }).subarray(0, 40)],
    ];
    for (const [flag, body] of cases) {
      expectS2Error(() => decodeFrameBody(Buffer.concat([Buffer.from([flag]), body])), 'bad_frame');
    }
  });

  it('rejects a zstd frame whose content outgrows its declared size', () => {
    const z = Buffer.from(zstd.compress(text(2000)));
    const fhd = z[4];
    expect(fhd >> 6).toBe(1); // 2-byte frame content size field (value - 256)
    const offset = 5 + ((fhd >> 5) & 1 ? 0 : 1) + [0, 1, 2, 4][fhd & 3];
    z.writeUInt16LE(1000 - 256, offset);
    expectS2Error(() => decodeFrameBody(Buffer.concat([Buffer.from([0x20]), z])), 'bad_frame', 'zstd');
  });

  describe('bounded decompression (zip bombs)', () => {
    const bomb = Buffer.alloc(s2sPayloadBytesMax + 1);
    const exact = Buffer.alloc(s2sPayloadBytesMax, 0x61);
    it('gzip over the cap fails, exactly at the cap passes', () => {
      const z = zlib.gzipSync(bomb);
      expect(z.length).toBeLessThan(5000);
      expectS2Error(() => decodeFrameBody(Buffer.concat([Buffer.from([0x40]), z])), 'bad_frame', 'exceeds');
      expect(decodeFrameBody(Buffer.concat([Buffer.from([0x40]), zlib.gzipSync(exact)])).payload.length).toBe(
        s2sPayloadBytesMax,
      );
    });

    it('zstd over the cap fails, with and without a declared size; exactly at the cap passes', () => {
      for (const contentSizeFlag of [true, false]) {
        const z = zstd.compress(bomb, { contentSizeFlag });
        expect(z.length).toBeLessThan(5000);
        expectS2Error(() => decodeFrameBody(Buffer.concat([Buffer.from([0x20]), z])), 'bad_frame', 'exceeds');
        const ok = decodeFrameBody(Buffer.concat([Buffer.from([0x20]), zstd.compress(exact, { contentSizeFlag })]));
        expect(ok.payload.length).toBe(s2sPayloadBytesMax);
        expect(ok.payload.every((x) => x === 0x61)).toBe(true);
      }
    });

    it('a bomb spread over many small zstd frames is still capped', () => {
      const piece = zstd.compress(Buffer.alloc(64 * 1024), { contentSizeFlag: false });
      const many = Buffer.concat(Array.from({ length: 40 }, () => piece)); // 2.5 MiB of output
      expectS2Error(() => decompressBounded(many, 'zstd', s2sPayloadBytesMax), 'bad_frame', 'exceeds');
    });

    it('the streaming path does not leak data between calls (scratch buffer is copied out)', () => {
      const a = decompressBounded(zstd.compress(Buffer.from('first'), { contentSizeFlag: false }), 'zstd', 100);
      const b = decompressBounded(zstd.compress(Buffer.from('second!'), { contentSizeFlag: false }), 'zstd', 100);
      expect(Buffer.from(a).toString()).toBe('first');
      expect(Buffer.from(b).toString()).toBe('second!');
    });
  });

  it('compress() output is standard zstd / gzip', () => {
    const payload = text(3000);
    expect(hex(zstd.decompress(compress(payload, 'zstd')))).toBe(hex(payload));
    expect(hex(zlib.gunzipSync(compress(payload, 'gzip')))).toBe(hex(payload));
  });
});

describe('negotiateCompression', () => {
  const cases: [string[] | string | undefined, string][] = [
    [undefined, 'none'],
    ['', 'none'],
    ['identity', 'none'],
    ['gzip', 'gzip'],
    ['zstd', 'zstd'],
    ['gzip, zstd', 'zstd'],
    ['zstd;q=0, gzip', 'zstd'], // q-values are not honoured (api.md 9.3)
    ['br;q=1.0, gzip;q=0.5', 'gzip'],
    [' deflate , GZIP ', 'gzip'],
    [['br', 'gzip'], 'gzip'],
    [['gzip', 'x, zstd'], 'zstd'],
    [['identity', ''], 'none'],
    ['gzipx, zstd-ish', 'none'],
    ['*', 'none'],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} -> ${expected}`, () => expect(negotiateCompression(value)).toBe(expected));
  }
});

describe('FrameReader', () => {
  function sampleStream(big: boolean): { bytes: Uint8Array; expected: ReturnType<typeof summary> } {
    const payloads: [Uint8Array, 'none' | 'zstd' | 'gzip'][] = [
      [fromHex('0a041a026869'), 'none'],
      [new Uint8Array(0), 'none'],
      [text(2000, 2), 'zstd'],
      [text(1500, 3), 'gzip'],
      [randBytes(seededRand(4), 300), 'none'],
    ];
    if (big) payloads.push([text(200_000, 5), 'none'], [text(150_000, 6), 'zstd']);
    const frames = payloads.map(([p, c]) => encodeRegularFrame(p, c));
    frames.push(encodeTerminalFrame(503, '{"code":"unavailable","message":"x"}'));
    const expected = [
      ...payloads.map(([p, c]) => ({
        terminal: false,
        compression: (p.length >= compressionThresholdBytes ? c : 'none') as Compression,
        payload: hex(p),
      })),
      {
        terminal: true,
        compression: 'none' as Compression,
        payload: '01f7' + Buffer.from('{"code":"unavailable","message":"x"}').toString('hex'),
      },
    ];
    return { bytes: Buffer.concat(frames), expected };
  }

  it('yields the same frames for chunk sizes 1, 2, 3, 7, 64, 64 KiB and whole', () => {
    const { bytes, expected } = sampleStream(true);
    for (const size of [1, 2, 3, 7, 64, 65536, bytes.length]) {
      expect(summary(readAll(new FrameReader(), chunked(bytes, size))), `chunk size ${size}`).toEqual(expected);
    }
  });

  it('yields the same frames when split in two at every byte boundary', () => {
    const { bytes, expected } = sampleStream(false);
    for (let i = 0; i <= bytes.length; i++) {
      const frames = readAll(new FrameReader(), [bytes.subarray(0, i), bytes.subarray(i)]);
      expect(summary(frames), `split at ${i}`).toEqual(expected);
    }
  });

  it('handles random chunkings', () => {
    const { bytes, expected } = sampleStream(true);
    const rand = seededRand(77);
    for (let trial = 0; trial < 20; trial++) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length;) {
        const n = 1 + Math.floor(rand.next() * (rand.next() < 0.5 ? 10 : 40_000));
        chunks.push(bytes.subarray(i, i + n));
        i += n;
      }
      expect(summary(readAll(new FrameReader(), chunks))).toEqual(expected);
    }
  });

  it('returns frames inside one chunk as zero-copy views', () => {
    const chunk = encodeRegularFrame(fromHex('0a00'), 'none');
    const [frame] = [...new FrameReader().push(chunk)];
    expect(frame.payload.buffer).toBe(chunk.buffer);
  });

  it('rejects an oversize length as soon as the 3 length bytes arrive', () => {
    for (const header of ['ff ff ff', '20 00 01']) {
      const reader = new FrameReader();
      expect([...reader.push(fromHex(header.slice(0, 5)))]).toEqual([]);
      expect(() => [...reader.push(fromHex(header.slice(6)))]).toThrow(S2Error);
      expectS2Error(() => reader.next(), 'bad_frame', 'exceeds'); // stays failed
    }
  });

  it('accepts a frame of exactly s2sFrameBytesMax', () => {
    const bytes = encodeRegularFrame(new Uint8Array(s2sPayloadBytesMax).fill(7), 'none');
    const frames = readAll(new FrameReader(), chunked(bytes, 65536));
    expect(frames).toHaveLength(1);
    expect(frames[0].payload.length).toBe(s2sPayloadBytesMax);
  });

  it('rejects a zero length', () => {
    const reader = new FrameReader();
    expectS2Error(() => [...reader.push(fromHex('00 00 00 00'))], 'bad_frame', 'empty frame payload');
  });

  it('yields valid frames before a malformed one, then fails', () => {
    const good = encodeRegularFrame(fromHex('0a041a026869'), 'none');
    const reader = new FrameReader();
    const seen: Frame[] = [];
    let error: unknown;
    try {
      for (const f of reader.push(Buffer.concat([good, good, fromHex('00 00 02 60 00'), good]))) seen.push(f);
    } catch (e) {
      error = e;
    }
    expect(seen).toHaveLength(2);
    expect((error as S2Error).message).toContain('unknown compression algorithm');
    expectS2Error(() => [...reader.push(good)], 'bad_frame');
  });

  it('an abandoned iteration loses nothing', () => {
    const a = encodeRegularFrame(fromHex('0a00'), 'none');
    const b = encodeRegularFrame(fromHex('0a0100'), 'none');
    const reader = new FrameReader();
    const first = reader.push(Buffer.concat([a, b])).next();
    expect(hex((first.value as Frame).payload)).toBe('0a00');
    expect([...reader.push(new Uint8Array(0))].map((f) => hex(f.payload))).toEqual(['0a0100']);
    reader.end();
  });

  it('reports a truncated stream at the end', () => {
    const bytes = encodeRegularFrame(text(100), 'none');
    for (const cut of [1, 2, 3, 4, bytes.length - 1]) {
      const reader = new FrameReader();
      expect([...reader.push(bytes.subarray(0, cut))]).toEqual([]);
      expect(reader.pendingBytes).toBe(cut);
      expectS2Error(() => reader.end(), 'bad_frame', 'incomplete frame');
    }
    const clean = new FrameReader();
    expect([...clean.push(bytes)]).toHaveLength(1);
    expect(clean.pendingBytes).toBe(0);
    clean.end();
    new FrameReader().end(); // an empty body is fine (zero inputs, api.md 7.4)
  });

  it('buffers at most one incomplete frame once drained', () => {
    const bytes = encodeRegularFrame(new Uint8Array(s2sPayloadBytesMax), 'none');
    const reader = new FrameReader();
    let maxPending = 0;
    for (const chunk of chunked(bytes, 4096)) {
      for (const f of reader.push(chunk)) expect(f.payload.length).toBe(s2sPayloadBytesMax);
      maxPending = Math.max(maxPending, reader.pendingBytes);
    }
    expect(maxPending).toBeLessThanOrEqual(3 + s2sFrameBytesMax);
    expect(reader.pendingBytes).toBe(0);
  });

  it('garbage input yields frames or bad_frame, never another error', () => {
    const rand = seededRand(5);
    let failures = 0;
    for (let trial = 0; trial < 300; trial++) {
      const bytes = randBytes(rand, 64);
      // Small lengths so that some garbage parses as frames.
      if (bytes.length > 0 && trial % 2 === 0) bytes[0] = 0;
      if (bytes.length > 1 && trial % 2 === 0) bytes[1] = 0;
      const reader = new FrameReader();
      try {
        for (const chunk of chunked(bytes, 1 + (trial % 5))) for (const f of reader.push(chunk)) void f;
        reader.end();
      } catch (e) {
        expect(e).toBeInstanceOf(S2Error);
        expect((e as S2Error).code).toBe('bad_frame');
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(50);
  });
});

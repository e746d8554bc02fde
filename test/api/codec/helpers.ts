/**
 * Shared test helpers for the codec suites: seeded random data, hex, and a protobufjs reflection oracle loaded from
 * the wire contract (proto/s2/v1/s2.proto).
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { expect } from 'vitest';
import type { AppendRecord, Header, SequencedRecord } from '../../../src/domain/types.js';
import { S2Error, type ErrorCode } from '../../../src/domain/errors.js';
import { randInt, seededRand, type Rand } from '../../../src/util/rand.js';

export { randInt, seededRand, type Rand };

export const U64_MAX = 18446744073709551615n;

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/[\s|]/g, ''), 'hex'));
}

export function randBytes(rand: Rand, maxLen: number): Uint8Array {
  const len = randInt(rand, 0, maxLen);
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = randInt(rand, 0, 255);
  return out;
}

/** A u64 biased towards the interesting edges (0, 2^53 boundaries, u64 max) and varint length boundaries. */
export function randU64(rand: Rand): bigint {
  switch (randInt(rand, 0, 7)) {
    case 0:
      return 0n;
    case 1:
      return U64_MAX;
    case 2:
      return BigInt(Number.MAX_SAFE_INTEGER) + BigInt(randInt(rand, -2, 2));
    case 3:
      return (1n << BigInt(randInt(rand, 1, 63))) + BigInt(randInt(rand, -1, 1));
    case 4:
      return BigInt(randInt(rand, 0, 127));
    default: {
      const hi = BigInt(randInt(rand, 0, 0xffffffff));
      const lo = BigInt(randInt(rand, 0, 0xffffffff));
      return ((hi << 32n) | lo) >> BigInt(randInt(rand, 0, 63));
    }
  }
}

export function randHeaders(rand: Rand): Header[] {
  const n = randInt(rand, 0, 3);
  const headers: Header[] = [];
  for (let i = 0; i < n; i++) headers.push([randBytes(rand, 8), randBytes(rand, 8)]);
  return headers;
}

export function randAppendRecord(rand: Rand): AppendRecord {
  const record: AppendRecord = { headers: randHeaders(rand), body: randBytes(rand, 40) };
  if (rand.next() < 0.5) record.timestamp = randU64(rand);
  return record;
}

export function randSequencedRecord(rand: Rand, seqNum: number): SequencedRecord {
  return { seqNum, timestamp: randU64(rand), headers: randHeaders(rand), body: randBytes(rand, 40) };
}

/** Runs `fn` and checks it throws an `S2Error` with `code` (and, if given, a message containing `fragment`). */
export function expectS2Error(fn: () => unknown, code: ErrorCode, fragment?: string): S2Error {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected an S2Error').toBeInstanceOf(S2Error);
  const err = thrown as S2Error;
  expect(err.code).toBe(code);
  if (fragment !== undefined) expect(err.message).toContain(fragment);
  return err;
}

const protoPath = fileURLToPath(new URL('../../../proto/s2/v1/s2.proto', import.meta.url));

/** protobufjs reflection types for the s2.v1 messages: the independent oracle for the hand-written codec. */
export function loadOracle() {
  const root = protobuf.loadSync(protoPath);
  const type = (name: string) => root.lookupType(`s2.v1.${name}`);
  return {
    AppendInput: type('AppendInput'),
    AppendAck: type('AppendAck'),
    ReadBatch: type('ReadBatch'),
    Long: protobuf.util.Long as unknown as { fromString(s: string, unsigned: boolean): unknown },
  };
}

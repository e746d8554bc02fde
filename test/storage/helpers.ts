/**
 * Fixtures for storage tests: metadata, appends, and a reference model of what a log must hold.
 */
import type { BasinMeta, SequencedRecord, StreamMeta } from '../../src/domain/types.js';
import { FaultyObjectStore } from '../../src/objectstore/faulty.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import type { ObjectStore } from '../../src/objectstore/types.js';
import type { Clock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';
import type { Append, Mutation, ReadRequest, StreamLog } from '../../src/storage/types.js';

export function basinMeta(createdAtMs = 1_000): BasinMeta {
  return {
    config: { createStreamOnAppend: false, createStreamOnRead: false },
    createdAtMs,
    deletedAtMs: null,
    creationKey: null,
  };
}

export function streamMeta(createdAtMs = 1_000): StreamMeta {
  return {
    config: {
      storageClass: 'standard',
      retentionPolicy: { kind: 'infinite' },
      timestamping: { mode: 'client-prefer', uncapped: false },
      deleteOnEmpty: { minAgeSecs: 0 },
    },
    cipher: null,
    createdAtMs,
    deletedAtMs: null,
    creationKey: null,
  };
}

export function createStream(stream: string, basin = 'basin-one', name = stream): Mutation[] {
  return [
    { kind: 'basin.put', basin, meta: basinMeta() },
    { kind: 'stream.put', stream, basin, name, meta: streamMeta() },
  ];
}

/** Plain Uint8Array (decoders return Uint8Array, and a Buffer would not compare equal). */
export function bytes(text: string | number[]): Uint8Array {
  return typeof text === 'string' ? new TextEncoder().encode(text) : Uint8Array.from(text);
}

/** Deterministic record content for seq_num `seqNum`. */
export function makeRecord(seqNum: number, timestamp = BigInt(seqNum) * 10n): SequencedRecord {
  return {
    seqNum,
    timestamp,
    headers: seqNum % 3 === 0 ? [[bytes('h'), bytes(`v${seqNum}`)]] : [],
    body: bytes(`record-${seqNum}-`.repeat(1 + (seqNum % 5))),
  };
}

export interface AppendOptions {
  timestamp?: (seqNum: number) => bigint;
  writtenAtMs?: number;
  expiresAtMs?: number | null;
  trimPoint?: number;
  fencingToken?: string;
}

export function makeAppend(stream: string, first: number, count: number, options: AppendOptions = {}): Append {
  const records = Array.from({ length: count }, (_, i) => {
    const seqNum = first + i;
    return makeRecord(seqNum, options.timestamp ? options.timestamp(seqNum) : undefined);
  });
  const last = records[records.length - 1];
  const append: Append = {
    kind: 'append',
    stream,
    records,
    tail: { seqNum: first + count, timestamp: last.timestamp },
    writtenAtMs: options.writtenAtMs ?? 2_000,
    expiresAtMs: options.expiresAtMs ?? null,
  };
  if (options.trimPoint !== undefined) append.trimPoint = options.trimPoint;
  if (options.fencingToken !== undefined) append.fencingToken = options.fencingToken;
  return append;
}

export function readAll(stream: string, endSeqNum: number, nowMs = 0, startSeqNum = 0): ReadRequest {
  return {
    stream,
    startSeqNum,
    endSeqNum,
    maxRecords: Number.MAX_SAFE_INTEGER,
    maxBytes: Number.MAX_SAFE_INTEGER,
    nowMs,
  };
}

/** Reads everything in [start, end) by batches of 1000 records. */
export async function readRange(log: StreamLog, stream: string, start: number, end: number, nowMs = 0) {
  const out: SequencedRecord[] = [];
  let cursor = start;
  for (;;) {
    const { records: batch } = await log.read({
      ...readAll(stream, end, nowMs),
      startSeqNum: cursor,
      maxRecords: 1000,
    });
    if (batch.length === 0) return out;
    out.push(...batch);
    cursor = batch[batch.length - 1].seqNum + 1;
  }
}

/** A fault-injecting store over `inner` (default: a fresh memory store); latency waits on `clock`. */
export function faulty(inner: ObjectStore = new MemoryObjectStore(), clock?: Clock, seed = 1): FaultyObjectStore {
  return new FaultyObjectStore(inner, { rand: seededRand(seed), clock });
}

export function seqs(records: SequencedRecord[]): number[] {
  return records.map((r) => r.seqNum);
}

/** Chunk objects GC may still delete: every chunk except the fence chunks a `fence/` marker keeps. */
export async function collectableChunks(store: ObjectStore): Promise<string[]> {
  const fences = new Set((await store.list('fence/')).map((o) => o.key.slice('fence/'.length)));
  return (await store.list('chunk/')).map((o) => o.key).filter((key) => !fences.has(key.slice('chunk/'.length)));
}

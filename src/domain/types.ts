/**
 * The shared kernel: value types used by every layer (api, engine, storage). Names follow S2's nouns.
 *
 * Sequence numbers are JS numbers: a stream would need 2^53 records to exceed them, which the
 * engine refuses long before (see `limits.ts`). Timestamps are `bigint` because clients may write
 * any u64 on `uncapped` streams and those must round-trip exactly.
 */
import { sealedMeteredBytes } from './sealed.js';

export interface StreamPosition {
  /** The seq_num the next record will get (for a tail) or of the record (for a record). */
  seqNum: number;
  /** Timestamp of the last record (tail) or of the record; 0 on a stream that never had one. */
  timestamp: bigint;
}

export type StorageClass = 'standard' | 'express';
export type TimestampingMode = 'client-prefer' | 'client-require' | 'arrival';
export type Cipher = 'aegis-256' | 'aes-256-gcm';
export type RetentionPolicy = { kind: 'age'; ageSecs: number } | { kind: 'infinite' };

/**
 * One layer of stream configuration (a create/ensure request, or a basin's default stream
 * config). `undefined` means "not set at this layer"; resolution falls through to the next.
 */
export interface StreamConfigLayer {
  storageClass?: StorageClass;
  retentionPolicy?: RetentionPolicy;
  /** Present iff at least one member is set. */
  timestamping?: { mode?: TimestampingMode; uncapped?: boolean };
  /** An explicit `{minAgeSecs: 0}` is a set value ("explicitly disabled"), distinct from unset. */
  deleteOnEmpty?: { minAgeSecs: number };
}

/** A stream's effective configuration: every field resolved (api.md 4.3 "resolved form"). */
export interface StreamConfig {
  storageClass: StorageClass;
  retentionPolicy: RetentionPolicy;
  timestamping: { mode: TimestampingMode; uncapped: boolean };
  deleteOnEmpty: { minAgeSecs: number };
}

export interface BasinConfig {
  defaultStreamConfig?: StreamConfigLayer;
  streamCipher?: Cipher;
  createStreamOnAppend: boolean;
  createStreamOnRead: boolean;
}

export interface BasinMeta {
  config: BasinConfig;
  createdAtMs: number;
  deletedAtMs: number | null;
  /** Hash of (request token, requested config) at creation, for idempotent create retries. */
  creationKey: string | null;
}

export interface StreamMeta {
  config: StreamConfig;
  cipher: Cipher | null;
  createdAtMs: number;
  deletedAtMs: number | null;
  creationKey: string | null;
}

/** A record header: ordered (name, value) byte pairs; duplicates allowed. */
export type Header = [name: Uint8Array, value: Uint8Array];

/** A record as a client submits it. */
export interface AppendRecord {
  timestamp?: bigint;
  headers: Header[];
  body: Uint8Array;
}

export interface AppendInput {
  records: AppendRecord[];
  /** Compared with the next assignable seq_num; values above 2^53 can never match. */
  matchSeqNum?: number;
  fencingToken?: string;
}

/** A durable record with its assigned position. */
export interface SequencedRecord {
  seqNum: number;
  timestamp: bigint;
  headers: Header[];
  body: Uint8Array;
}

export interface AppendAck {
  start: StreamPosition;
  end: StreamPosition;
  tail: StreamPosition;
}

/** Metered size of a record (api.md 6.4): 8 + 2*H + sum(name+value) + body. */
export function meteredBytes(record: { headers: Header[]; body: Uint8Array }): number {
  // An encrypted record counts as its plaintext (api.md 6.4, 13); the check is one length test for others.
  if (record.headers.length === 1 && record.headers[0]![0].length === 0) {
    const sealed = sealedMeteredBytes(record);
    if (sealed !== undefined) return sealed;
  }
  let size = 8 + 2 * record.headers.length + record.body.length;
  for (const [name, value] of record.headers) size += name.length + value.length;
  return size;
}

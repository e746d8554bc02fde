/**
 * The seam between the engine and storage (docs/architecture.md, "Seams between the layers").
 *
 * The engine owns S2 semantics (sequencing, timestamps, fencing, configs) and keeps the live
 * view of all metadata in memory. Storage owns durability: it receives ordered commits, makes
 * them durable, hands the durable state back at startup, and serves durable records to reads.
 *
 * Durability is one signal, by commit ordinal:
 * - `submit` takes a commit and returns its ordinal: 1, 2, 3... in submission order.
 * - The one subscriber (`subscribe`) hears `durableThrough(n)`: every commit with an ordinal up to
 *   n is durable. n only grows, and storage has applied those commits (reads see them) before it
 *   says so.
 * - Or it hears `failed(error)`, once, when the log stops for good (fenced by a newer writer,
 *   store failure, closed). Commits not yet reported durable are then indefinite: they may or may
 *   not become durable (storage resolves what ambiguity it can, with retries and put-id checks,
 *   before giving up). Nothing is reported after it.
 * - The control plane may instead await a commit or a barrier: `commit` and `barrier` promises
 *   settle from the same signal, in submission order.
 *
 * Other rules both sides rely on:
 * - A commit is atomic: after a crash either all of its mutations are recovered or none.
 * - `read` never returns a record whose commit has not been reported durable.
 * - Errors are `StorageError`s (storage/errors.ts), told apart by `kind`.
 */
import type { AccessTokenMeta } from '../domain/access-tokens.js';
import type { BasinMeta, SequencedRecord, StreamMeta, StreamPosition } from '../domain/types.js';
import type { RecordList } from '../domain/record-list.js';
import type { StorageError } from './errors.js';

/**
 * Identifies one incarnation of a stream. Never reused: a stream deleted and created again
 * under the same name gets a new id, so its old data can never resurface.
 */
export type StreamId = string;

export interface BasinPut {
  kind: 'basin.put';
  basin: string;
  meta: BasinMeta;
}

/** The basin record is purged (its deletion finished); the name may be reused. */
export interface BasinDelete {
  kind: 'basin.delete';
  basin: string;
}

export interface StreamPut {
  kind: 'stream.put';
  stream: StreamId;
  basin: string;
  name: string;
  meta: StreamMeta;
}

/** All of the stream's records and its metadata are purged. */
export interface StreamDelete {
  kind: 'stream.delete';
  stream: StreamId;
}

/**
 * Records appended to a stream, with the stream state after them, so recovery never has to
 * interpret command records.
 */
export interface Append {
  kind: 'append';
  stream: StreamId;
  /** Consecutive seq_nums, starting at the previous tail. Non-empty. */
  records: SequencedRecord[];
  /** The tail after these records. */
  tail: StreamPosition;
  /** Set when a `fence` record in this batch changed the fencing token. */
  fencingToken?: string;
  /** Set when a `trim` record in this batch raised the trim point (records below it are deleted). */
  trimPoint?: number;
  /** Server wall time of the write, ms; drives retention and delete-on-empty. */
  writtenAtMs: number;
  /** Wall time (ms) after which these records are invisible (retention age); null = never. */
  expiresAtMs: number | null;
}

/** An access token issued (issue 18): its id and everything but the secret, of which a hash. */
export interface AccessTokenPut {
  kind: 'access-token.put';
  id: string;
  meta: AccessTokenMeta;
}

/** An access token revoked; the id may be issued again. */
export interface AccessTokenDelete {
  kind: 'access-token.delete';
  id: string;
}

/** The hash of the root token generated at first start (or rotated); replaces any earlier one. */
export interface RootTokenPut {
  kind: 'root-token.put';
  hash: string;
}

export type Mutation =
  BasinPut | BasinDelete | StreamPut | StreamDelete | Append | AccessTokenPut | AccessTokenDelete | RootTokenPut;

/**
 * The durable state of one stream: what recovery hands the engine, what a manifest snapshot
 * stores with the stream's segments, and the core of both sides' in-memory stream state.
 */
export interface DurableStream {
  id: StreamId;
  basin: string;
  name: string;
  meta: StreamMeta;
  /** The seq_num the next record will get, and the timestamp of the last record. */
  tail: StreamPosition;
  /** Fencing token and trim point in force after the last durable append. */
  fencingToken: string;
  trimPoint: number;
  /** Wall time (ms) of the last append, or of creation if never written. */
  lastWriteMs: number;
}

/** The fields of `DurableStream`, copied out of a larger stream state. */
export function durableStream(stream: DurableStream): DurableStream {
  const { id, basin, name, meta, tail, fencingToken, trimPoint, lastWriteMs } = stream;
  return { id, basin, name, meta, tail, fencingToken, trimPoint, lastWriteMs };
}

export interface RecoveredState {
  basins: Map<string, BasinMeta>;
  streams: DurableStream[];
  /** Issued, unrevoked access tokens by id. */
  accessTokens: Map<string, AccessTokenMeta>;
  /** Hash of the stored root token, or null if none was ever generated. */
  rootTokenHash: string | null;
}

/**
 * A read of durable records. Storage applies every bound in one pass: the trim point, retention,
 * the seq_num range, `until`, and the count and metered-byte limits (never a partial record).
 */
export interface ReadRequest {
  stream: StreamId;
  /** First seq_num wanted; records below it (or below the durable trim point) are skipped. */
  startSeqNum: number;
  /** Exclusive upper bound; the engine passes the durable tail. */
  endSeqNum: number;
  /** Exclusive upper timestamp bound: the read stops before the first record at or after it. */
  until?: bigint;
  /** Stop after this many records... */
  maxRecords: number;
  /** ...or before exceeding this many metered bytes (api.md 6.4). */
  maxBytes: number;
  /** Wall time (ms) used to filter out records past their retention. */
  nowMs: number;
}

/**
 * Why a read stopped: `end`, no surviving record is left below `endSeqNum`; `count`, it holds
 * `maxRecords`; `bytes`, the next surviving record would pass `maxBytes`; `until`, the next
 * surviving record is at or after `until`.
 */
export type ReadStop = 'end' | 'count' | 'bytes' | 'until';

export interface ReadResult {
  /** Surviving records in seq_num order, from the first at or after `startSeqNum`. */
  records: SequencedRecord[];
  /** The same records as stored (block ranges and memory records): `records` materialises this. */
  list: RecordList;
  /** Their metered size (api.md 6.4), summed once as storage read them. */
  bytes: number;
  stop: ReadStop;
}

export type LogStatus = { ok: true } | { ok: false; error: StorageError };

/** The one listener of the log's durability signal (the engine). */
export interface DurabilitySubscriber {
  /** Every commit with an ordinal up to `ordinal` is durable and applied; called in order. */
  durableThrough(ordinal: number): void;
  /** The log stopped for good; called once, and nothing is reported after it. */
  failed(error: StorageError): void;
}

export interface StreamLog {
  /** Durable state, as recovered when the log was opened. */
  recovered(): RecoveredState;
  /** Sets the one durability subscriber. */
  subscribe(subscriber: DurabilitySubscriber): void;
  /**
   * Queues `mutations` (non-empty) to be made durable atomically and returns the commit's
   * ordinal. Throws the log's `StorageError` if it has stopped.
   */
  submit(mutations: Mutation[]): number;
  /** `submit`, then resolves once the commit is durable (rejects with a `StorageError`). */
  commit(mutations: Mutation[]): Promise<void>;
  /** Resolves once every commit submitted before this call is durable. */
  barrier(): Promise<void>;
  /** Durable records of a stream in seq_num order, within the request's bounds. */
  read(request: ReadRequest): Promise<ReadResult>;
  /**
   * seq_num of the first surviving record with timestamp >= `timestamp` below `endSeqNum`, or
   * null if there is none. Timestamps never decrease within a stream, so this is a search.
   */
  seqNumForTimestamp(stream: StreamId, timestamp: bigint, endSeqNum: number, nowMs: number): Promise<number | null>;
  /** ok, or why this log cannot serve (fenced by another writer, failed, closed). */
  status(): LogStatus;
  /** Flushes pending commits, stops background work; the subscriber then hears `failed` (closed). */
  close(): Promise<void>;
}

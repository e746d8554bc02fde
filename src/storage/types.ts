/**
 * The seam between the engine and storage (docs/architecture.md, "Seams between the layers").
 *
 * The engine owns S2 semantics (sequencing, timestamps, fencing, configs) and keeps the live
 * view of all metadata in memory. Storage owns durability: it receives ordered commits, makes
 * them durable, hands the durable state back at startup, and serves durable records to reads.
 *
 * Rules both sides rely on:
 * - `commit` promises resolve in submission order, and only once the commit is durable.
 * - A commit is atomic: after a crash either all of its mutations are recovered or none.
 * - A rejected commit is "indefinite": it may or may not become durable. Storage does its best
 *   to resolve ambiguity (retries, put-id checks) before rejecting. After a rejection the log
 *   may be unusable (`status()` says so); later commits then reject too.
 * - `read` never returns a record whose commit has not resolved.
 */
import type { BasinMeta, SequencedRecord, StreamMeta, StreamPosition } from '../domain/types.js';

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

export type Mutation = BasinPut | BasinDelete | StreamPut | StreamDelete | Append;

/** Durable state of one stream as recovered at startup. */
export interface RecoveredStream {
  id: StreamId;
  basin: string;
  name: string;
  meta: StreamMeta;
  tail: StreamPosition;
  fencingToken: string;
  trimPoint: number;
  /** Wall time (ms) of the last append, or of creation if never written. */
  lastWriteMs: number;
}

export interface RecoveredState {
  basins: Map<string, BasinMeta>;
  streams: RecoveredStream[];
}

export interface ReadRequest {
  stream: StreamId;
  /** First seq_num wanted; records below it (or below the durable trim point) are skipped. */
  startSeqNum: number;
  /** Exclusive upper bound; the engine passes the durable tail. */
  endSeqNum: number;
  /** Stop after this many records... */
  maxRecords: number;
  /** ...or before exceeding this many metered bytes (never returns a partial record). */
  maxBytes: number;
  /** Wall time (ms) used to filter out records past their retention. */
  nowMs: number;
}

export type LogStatus = { ok: true } | { ok: false; reason: string };

export interface StreamLog {
  /** Durable state, as recovered when the log was opened. */
  recovered(): RecoveredState;
  /** Makes `mutations` durable atomically; resolves in submission order. */
  commit(mutations: Mutation[]): Promise<void>;
  /** Resolves once every commit submitted before this call is durable. */
  barrier(): Promise<void>;
  /**
   * Durable records of a stream in seq_num order, starting at the first surviving record
   * with seq_num >= startSeqNum. May return fewer than the limits allow (e.g. at an object
   * boundary); returns [] only if no surviving record exists in [startSeqNum, endSeqNum).
   */
  read(request: ReadRequest): Promise<SequencedRecord[]>;
  /**
   * seq_num of the first surviving record with timestamp >= `timestamp` below `endSeqNum`, or
   * null if there is none. Timestamps never decrease within a stream, so this is a search.
   */
  seqNumForTimestamp(stream: StreamId, timestamp: bigint, endSeqNum: number, nowMs: number): Promise<number | null>;
  /** ok, or why this log cannot serve (fenced by another writer, closed, failed). */
  status(): LogStatus;
  /** Called once if the log becomes unusable (fenced, failed); the engine stops serving. */
  onFailure(listener: (reason: string) => void): void;
  /** Flushes pending commits, stops background work. */
  close(): Promise<void>;
}

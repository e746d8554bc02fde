/**
 * Where storage errors become API errors, once (api.md 10.3). Storage reports typed
 * `StorageError`s (storage/errors.ts); the engine decides here, by kind, what a client sees:
 * `unavailable` (503) when this server cannot serve (fenced by a newer writer, closed), `storage`
 * (500) when the store failed or holds corrupt data. `EngineLog` applies the mapping to every
 * call whose errors reach a client, so the rest of the engine only ever sees `S2Error`s.
 */
import { errors, type S2Error } from '../domain/errors.js';
import { StorageError } from '../storage/errors.js';
import type {
  DurabilitySubscriber,
  Mutation,
  ReadRequest,
  ReadResult,
  RecoveredState,
  StreamId,
  StreamLog,
} from '../storage/types.js';

export function toS2Error(error: StorageError): S2Error {
  switch (error.kind) {
    case 'fenced':
    case 'closed':
      return errors.unavailable(error.message);
    case 'failed':
      return errors.storage(error.message);
    case 'corrupt':
      return errors.storage(`corrupt data: ${error.message}`);
    default:
      return unknownKind(error.kind);
  }
}

function unknownKind(kind: never): never {
  throw new Error(`unknown storage error kind ${String(kind)}`);
}

/** Rethrows a storage error as its API error; anything else (a bug) unchanged. */
export function rethrowMapped(error: unknown): never {
  throw error instanceof StorageError ? toS2Error(error) : error;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An append in flight when the log stopped: its outcome is indefinite (it may still have become
 * durable), which is a 500 `storage` whatever stopped the log.
 */
export function appendNotDurable(error: unknown): S2Error {
  return errors.storage(`append could not be made durable: ${reasonOf(error)}`);
}

/** A stream whose durable tail is unknown since the log stopped: 503 until a restart. */
export function streamUnavailable(error: unknown): S2Error {
  return errors.unavailable(`stream unavailable after a storage failure: ${reasonOf(error)}`);
}

/**
 * The stream log as the engine calls it: the same operations, with storage errors mapped.
 * `submit` is the data plane's: its rare throw fails the stream's streamer (streamer.ts).
 */
export class EngineLog {
  constructor(private readonly log: StreamLog) {}

  recovered(): RecoveredState {
    return this.log.recovered();
  }

  subscribe(subscriber: DurabilitySubscriber): void {
    this.log.subscribe(subscriber);
  }

  submit(mutations: Mutation[]): number {
    return this.log.submit(mutations);
  }

  commit(mutations: Mutation[]): Promise<void> {
    return this.log.commit(mutations).catch(rethrowMapped);
  }

  barrier(): Promise<void> {
    return this.log.barrier().catch(rethrowMapped);
  }

  read(request: ReadRequest): Promise<ReadResult> {
    return this.log.read(request).catch(rethrowMapped);
  }

  seqNumForTimestamp(stream: StreamId, timestamp: bigint, endSeqNum: number, nowMs: number): Promise<number | null> {
    return this.log.seqNumForTimestamp(stream, timestamp, endSeqNum, nowMs).catch(rethrowMapped);
  }

  /** Why the log cannot take writes (fenced, failed, closed), if it cannot. */
  refusal(): string | undefined {
    const status = this.log.status();
    return status.ok ? undefined : status.error.message;
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

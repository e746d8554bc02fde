/**
 * Where storage errors become API errors, once (api.md 10.3). Storage reports typed
 * `StorageError`s (storage/errors.ts); the engine decides here, by kind, what a client sees:
 * `unavailable` (503) when this server cannot serve (fenced by a newer writer, closed), `storage`
 * (500) when the store failed or holds corrupt data. `engineLog` applies the mapping to every
 * call whose errors reach a client, so the rest of the engine only ever sees `S2Error`s.
 */
import { errors, type S2Error } from '../domain/errors.js';
import { StorageError } from '../storage/errors.js';
import type { StreamLog } from '../storage/types.js';

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
export type EngineLog = Pick<
  StreamLog,
  'recovered' | 'subscribe' | 'submit' | 'commit' | 'barrier' | 'read' | 'seqNumForTimestamp' | 'close'
> & {
  /** Why the log cannot take writes (fenced, failed, closed), if it cannot. */
  refusal(): string | undefined;
};

export function engineLog(log: StreamLog): EngineLog {
  return {
    recovered: () => log.recovered(),
    subscribe: (subscriber) => log.subscribe(subscriber),
    submit: (mutations) => log.submit(mutations),
    commit: (mutations) => log.commit(mutations).catch(rethrowMapped),
    barrier: () => log.barrier().catch(rethrowMapped),
    read: (request) => log.read(request).catch(rethrowMapped),
    seqNumForTimestamp: (stream, timestamp, endSeqNum, nowMs) =>
      log.seqNumForTimestamp(stream, timestamp, endSeqNum, nowMs).catch(rethrowMapped),
    refusal() {
      const status = log.status();
      return status.ok ? undefined : status.error.message;
    },
    close: () => log.close(),
  };
}

/**
 * The engine's in-memory view of all metadata: basins and streams with their configs and their
 * durable stream state. Rebuilt from storage at startup; changed only by engine operations,
 * each of which also commits the change to the log.
 */
import type { StorageError } from '../storage/errors.js';
import type { DurableStream, RecoveredState, StreamId } from '../storage/types.js';
import type { AccessTokenMeta } from '../domain/access-tokens.js';
import type { BasinMeta } from '../domain/types.js';
import type { FollowerSet } from './followers.js';

export interface BasinState {
  name: string;
  meta: BasinMeta;
  /** Streams of this basin by name (including streams pending deletion). */
  streams: Map<string, StreamState>;
}

/**
 * A stream as the engine holds it. The `DurableStream` fields are durable state: `tail` is what
 * check-tail reports and where reads stop, and they move only when an append is reported durable
 * (`meta`, a control-plane change, moves when submitted, and is answered once durable).
 */
export interface StreamState extends DurableStream {
  /** Set once the terminal trim of a deletion is durable; the purge task then removes the stream. */
  terminalTrimDurable: boolean;
  /** The stream's writer (streamer.ts) while active; absent while dormant. */
  runtime?: StreamWriter;
  /** Read sessions following the stream's live batches (follow.ts); absent while there are none. */
  followers?: FollowerSet;
}

/** A stream's writer as the rest of the engine sees it. */
export interface StreamWriter {
  /** Appends sequenced but not yet durable. */
  readonly pendingCount: number;
  /** The oldest `count` of its appends in flight are durable (called in submission order). */
  durable(count: number): void;
  /** The log stopped: fail what is in flight, end the followers, refuse appends from now on. */
  fail(error: StorageError): void;
  /** Engine shutdown: leave the stream and arm no timer; appends in flight still settle. */
  shutdown(): void;
}

/** An issued access token (engine/access-tokens.ts); replaced, never mutated, so holders can compare identity. */
export interface AccessTokenState {
  id: string;
  meta: AccessTokenMeta;
}

/** Trim point of a deleted stream: everything is trimmed. */
export const terminalTrimPoint = Number.MAX_SAFE_INTEGER;

export class EngineState {
  readonly basins = new Map<string, BasinState>();
  readonly streamsById = new Map<StreamId, StreamState>();
  /** Issued access tokens by id, and the same by token hash (what authentication looks up). */
  readonly accessTokens = new Map<string, AccessTokenState>();
  readonly accessTokensByHash = new Map<string, AccessTokenState>();
  /** Hash of the stored root token (generated at first start), or null. */
  rootTokenHash: string | null = null;

  static fromRecovered(recovered: RecoveredState): EngineState {
    const state = new EngineState();
    for (const [id, meta] of recovered.accessTokens) state.addAccessToken({ id, meta });
    state.rootTokenHash = recovered.rootTokenHash;
    for (const [name, meta] of recovered.basins) state.basins.set(name, { name, meta, streams: new Map() });
    for (const stream of recovered.streams) {
      const basin = state.basins.get(stream.basin);
      // A stream whose basin record is gone cannot be addressed; storage purges such orphans.
      if (!basin) continue;
      const streamState: StreamState = { ...stream, terminalTrimDurable: stream.trimPoint >= terminalTrimPoint };
      basin.streams.set(stream.name, streamState);
      state.streamsById.set(stream.id, streamState);
    }
    return state;
  }

  stream(basin: string, name: string): StreamState | undefined {
    return this.basins.get(basin)?.streams.get(name);
  }

  addStream(stream: StreamState): void {
    this.basins.get(stream.basin)!.streams.set(stream.name, stream);
    this.streamsById.set(stream.id, stream);
  }

  addAccessToken(token: AccessTokenState): void {
    this.accessTokens.set(token.id, token);
    this.accessTokensByHash.set(token.meta.hash, token);
  }

  removeAccessToken(token: AccessTokenState): void {
    this.accessTokens.delete(token.id);
    if (this.accessTokensByHash.get(token.meta.hash) === token) this.accessTokensByHash.delete(token.meta.hash);
  }

  removeStream(stream: StreamState): void {
    const basin = this.basins.get(stream.basin);
    if (basin?.streams.get(stream.name) === stream) basin.streams.delete(stream.name);
    this.streamsById.delete(stream.id);
  }
}

/** Byte-wise (UTF-8) order of names, as the reference lists them. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** One page of a sorted listing filtered by prefix and start-after. */
export function listPage<T>(
  items: Iterable<[string, T]>,
  query: { prefix: string; startAfter: string; limit: number },
): { items: T[]; hasMore: boolean } {
  const matching = [...items]
    .filter(
      ([name]) =>
        name.startsWith(query.prefix) && (query.startAfter === '' || compareNames(name, query.startAfter) > 0),
    )
    .sort(([a], [b]) => compareNames(a, b));
  return { items: matching.slice(0, query.limit).map(([, item]) => item), hasMore: matching.length > query.limit };
}

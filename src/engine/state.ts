/**
 * The engine's in-memory view of all metadata: basins and streams with their configs and their
 * durable stream state. Rebuilt from storage at startup; changed only by engine operations,
 * each of which also commits the change to the log.
 */
import type { RecoveredState, StreamId } from '../storage/types.js';
import type { BasinMeta, StreamMeta, StreamPosition } from '../domain/types.js';

export interface BasinState {
  name: string;
  meta: BasinMeta;
  /** Streams of this basin by name (including streams pending deletion). */
  streams: Map<string, StreamState>;
}

export interface StreamState {
  id: StreamId;
  basin: string;
  name: string;
  meta: StreamMeta;
  /** Durable tail: what check-tail reports and where reads stop. */
  tail: StreamPosition;
  /** Fencing token and trim point in force after the last durable append. */
  fencingToken: string;
  trimPoint: number;
  /** Wall time (ms) of the last durable append, or of creation. */
  lastWriteMs: number;
  /** Set once the terminal trim of a deletion is durable; the purge task then removes the stream. */
  terminalTrimDurable: boolean;
  /** Per-stream runtime owned by the data plane (streamer, followers); absent while dormant. */
  runtime?: unknown;
}

/** Trim point of a deleted stream: everything is trimmed. */
export const terminalTrimPoint = Number.MAX_SAFE_INTEGER;

export class EngineState {
  readonly basins = new Map<string, BasinState>();
  readonly streamsById = new Map<StreamId, StreamState>();

  static fromRecovered(recovered: RecoveredState): EngineState {
    const state = new EngineState();
    for (const [name, meta] of recovered.basins) state.basins.set(name, { name, meta, streams: new Map() });
    for (const stream of recovered.streams) {
      const basin = state.basins.get(stream.basin);
      // A stream whose basin record is gone cannot be addressed; storage purges such orphans.
      if (!basin) continue;
      const streamState: StreamState = {
        id: stream.id,
        basin: stream.basin,
        name: stream.name,
        meta: stream.meta,
        tail: stream.tail,
        fencingToken: stream.fencingToken,
        trimPoint: stream.trimPoint,
        lastWriteMs: stream.lastWriteMs,
        terminalTrimDurable: stream.trimPoint >= terminalTrimPoint,
      };
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
    .filter(([name]) => name.startsWith(query.prefix) && (query.startAfter === '' || compareNames(name, query.startAfter) > 0))
    .sort(([a], [b]) => compareNames(a, b));
  return { items: matching.slice(0, query.limit).map(([, item]) => item), hasMore: matching.length > query.limit };
}

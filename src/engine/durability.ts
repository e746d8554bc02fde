/**
 * The engine's one durability subscriber (the seam of storage/types.ts). Streamers submit their
 * appends to the log and `track` them here, in submission order; "durable through N" then tells
 * each streamer, oldest first, that its next append is durable. When the log stops, every
 * streamer and every follower hears it exactly once: streamers with appends in flight, the ones
 * installed on a stream, and the followers of streams that have no streamer.
 */
import type { StorageError } from '../storage/errors.js';
import type { DurabilitySubscriber } from '../storage/types.js';
import { Queue } from '../util/queue.js';
import type { EngineState, StreamWriter } from './state.js';
import { streamUnavailable } from './storage-errors.js';

/** An append submitted to the log: its commit ordinal and the writer it belongs to. */
export interface Submitted {
  ordinal: number;
  writer: StreamWriter;
}

export class DurabilityRouter implements DurabilitySubscriber {
  /** Appends not yet reported durable, in ordinal order. */
  private readonly waiting = new Queue<Submitted>();

  constructor(
    private readonly state: EngineState,
    private readonly logEvent: (event: string, fields: Record<string, unknown>) => void = () => {},
  ) {}

  /** Waits for `submitted` (its ordinal is above every one tracked before). */
  track(submitted: Submitted): void {
    this.waiting.push(submitted);
  }

  /**
   * Consecutive appends of one writer are reported in one call, so that a stream's followers get
   * the run as one batch rather than one per append (see `Streamer.durable`).
   */
  durableThrough(ordinal: number): void {
    const waiting = this.waiting;
    while (waiting.size > 0 && waiting.peek()!.ordinal <= ordinal) {
      const writer = waiting.shift()!.writer;
      let count = 1;
      while (waiting.size > 0 && waiting.peek()!.ordinal <= ordinal && waiting.peek()!.writer === writer) {
        waiting.shift();
        count++;
      }
      writer.durable(count);
    }
  }

  /** Nothing in flight can become known-durable any more, and followers would wait forever. */
  failed(error: StorageError): void {
    if (error.kind !== 'closed') this.logEvent('storage failed', { reason: error.message });
    const writers = new Set<StreamWriter>();
    for (const submitted of this.waiting.clear()) writers.add(submitted.writer);
    for (const stream of this.state.streamsById.values()) {
      if (stream.runtime) writers.add(stream.runtime);
      else stream.followers?.close(streamUnavailable(error)); // a writer ends its own stream's followers
    }
    for (const writer of writers) writer.fail(error);
  }
}

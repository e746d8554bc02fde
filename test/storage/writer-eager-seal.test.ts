/**
 * The chunk writer's eager seal (`ChunkSink.eagerSealCommits`, the write-ahead log's): once that
 * many commits are pending while no chunk is in flight, they are handed to the sink within the same
 * event-loop turn; the turn's later commits share the next chunk; nothing is sealed early while a
 * chunk is in flight or for a sink that does not ask for it; and commits are still reported durable
 * strictly in order, each only once its chunk and every earlier one are.
 */
import { describe, expect, it } from 'vitest';
import type { ChunkSink, SinkChunk, SinkOutcome } from '../../src/storage/sink.js';
import { ChunkWriter } from '../../src/storage/writer.js';
import { systemClock } from '../../src/util/clock.js';
import { makeAppend } from './helpers.js';

/** A sink whose writes the test completes by hand; records what each chunk held. */
class HeldSink implements ChunkSink {
  readonly needsBytes = false;
  readonly writesInPlace = false;
  readonly chunksInFlightMax = 8;
  readonly written: { id: number; commits: number }[] = [];
  private readonly held: (() => void)[] = [];

  constructor(readonly eagerSealCommits?: number) {}

  write(chunk: SinkChunk & { commits?: unknown[] }): Promise<SinkOutcome> {
    this.written.push({ id: chunk.id, commits: chunk.commits!.length });
    return new Promise((resolve) => this.held.push(() => resolve({ kind: 'durable', bytes: 0 })));
  }

  /** Completes the oldest held write. */
  complete(): void {
    this.held.shift()!();
  }

  async close(): Promise<void> {}
}

function writerOn(sink: HeldSink) {
  const durable: number[] = [];
  const writer = new ChunkWriter(
    sink,
    systemClock,
    1,
    0,
    { flushIntervalMs: 0, flushBurst: 1, chunkBytesMax: 1024 * 1024 },
    {
      onDurable: (_id, _epoch, _commits, lastOrdinal) => void durable.push(lastOrdinal),
      onStop: (error) => {
        throw error;
      },
      maySeal: () => true,
    },
    () => {},
  );
  let seq = 0;
  const submit = (count: number) => {
    for (let i = 0; i < count; i++) writer.submit([makeAppend('s', seq++, 1)]);
  };
  return { writer, durable, submit };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('eager seal', () => {
  it('hands the first commits of a turn to an idle sink at once, and the rest of the turn to the next chunk', async () => {
    const sink = new HeldSink(4);
    const { durable, submit } = writerOn(sink);
    submit(3);
    expect(sink.written).toEqual([]); // below the threshold: waits for the end of the I/O phase
    submit(1);
    expect(sink.written).toEqual([{ id: 1, commits: 4 }]); // within the same turn
    submit(6);
    expect(sink.written.length).toBe(1); // a chunk is in flight: the rest gathers
    await turn();
    expect(sink.written).toEqual([
      { id: 1, commits: 4 },
      { id: 2, commits: 6 },
    ]);

    // In flight: no eager seal, however many commits come.
    submit(9);
    expect(sink.written.length).toBe(2);
    await turn();
    expect(sink.written[2]).toEqual({ id: 3, commits: 9 });

    // Completed out of order: reported durable in order, each once every earlier chunk is.
    sink.complete();
    await turn();
    expect(durable).toEqual([4]);
    sink.complete();
    sink.complete();
    await turn();
    expect(durable).toEqual([4, 10, 19]);
  });

  it('seals eagerly again once the sink is idle', async () => {
    const sink = new HeldSink(2);
    const { durable, submit } = writerOn(sink);
    submit(2);
    expect(sink.written).toEqual([{ id: 1, commits: 2 }]);
    sink.complete();
    await turn();
    expect(durable).toEqual([2]);
    submit(5);
    expect(sink.written).toEqual([
      { id: 1, commits: 2 },
      { id: 2, commits: 2 },
    ]);
    await turn();
    expect(sink.written[2]).toEqual({ id: 3, commits: 3 });
  });

  it('seals only after the I/O phase for a sink that does not ask for it', async () => {
    const sink = new HeldSink();
    const { submit } = writerOn(sink);
    submit(40);
    expect(sink.written).toEqual([]);
    await turn();
    expect(sink.written).toEqual([{ id: 1, commits: 40 }]);
  });
});

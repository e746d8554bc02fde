/**
 * The durability signal from the log to the streamers (engine/durability.ts): "durable through N"
 * reaches each writer's appends in submission order, and a log failure reaches every streamer,
 * and the followers of streams without one, exactly once; then nothing more is reported. Checked
 * on the router alone with recording writers, and end to end on an engine whose log fails with
 * appends in flight on several streams.
 */
import { describe, expect, it, vi } from 'vitest';
import { DurabilityRouter } from '../../src/engine/durability.js';
import { FollowerSet } from '../../src/engine/followers.js';
import { EngineState, type StreamState, type StreamWriter } from '../../src/engine/state.js';
import { Streamer } from '../../src/engine/streamer.js';
import { StoreFailure } from '../../src/storage/errors.js';
import { basin, createStream, input, settle, setup, track } from './support.js';

function writer(name: string, log: string[]): StreamWriter {
  return {
    pendingCount: 0,
    durable: (count) => log.push(count === 1 ? `${name} durable` : `${name} durable x${count}`),
    fail: (error) => log.push(`${name} failed: ${error.message}`),
    shutdown: () => {},
  };
}

function stream(state: EngineState, id: string, runtime?: StreamWriter): StreamState {
  const s: StreamState = {
    id,
    basin: 'b',
    name: id,
    meta: {} as StreamState['meta'],
    tail: { seqNum: 0, timestamp: 0n },
    fencingToken: '',
    trimPoint: 0,
    lastWriteMs: 0,
    terminalTrimDurable: false,
  };
  if (runtime) s.runtime = runtime;
  state.streamsById.set(id, s);
  return s;
}

describe('DurabilityRouter', () => {
  it('tells each writer its next append is durable, in ordinal order, once', () => {
    const events: string[] = [];
    const router = new DurabilityRouter(new EngineState());
    const a = writer('a', events);
    const b = writer('b', events);
    // Control-plane commits take ordinals too: 2 and 5 are not appends.
    router.track({ ordinal: 1, writer: a });
    router.track({ ordinal: 3, writer: b });
    router.track({ ordinal: 4, writer: a });
    router.track({ ordinal: 6, writer: b });
    router.durableThrough(2);
    expect(events).toEqual(['a durable']);
    router.durableThrough(5);
    router.durableThrough(5);
    expect(events).toEqual(['a durable', 'b durable', 'a durable']);
    router.durableThrough(6);
    expect(events).toEqual(['a durable', 'b durable', 'a durable', 'b durable']);
  });

  it('reports consecutive appends of one writer in one call, never past the ordinal nor across another writer', () => {
    const events: string[] = [];
    const router = new DurabilityRouter(new EngineState());
    const a = writer('a', events);
    const b = writer('b', events);
    for (const [ordinal, w] of [
      [1, a],
      [2, a],
      [3, a],
      [4, b],
      [6, a],
      [7, a],
      [8, b],
      [9, b],
    ] as const) {
      router.track({ ordinal, writer: w });
    }
    router.durableThrough(2); // a run cut by the ordinal
    expect(events).toEqual(['a durable x2']);
    router.durableThrough(7); // 5 is not an append: 6 and 7 still join, but not across b's 4
    expect(events).toEqual(['a durable x2', 'a durable', 'b durable', 'a durable x2']);
    router.durableThrough(100);
    expect(events.slice(4)).toEqual(['b durable x2']);
  });

  it('delivers a failure once to every writer and to the followers of streams without one', () => {
    const events: string[] = [];
    const state = new EngineState();
    const router = new DurabilityRouter(state);
    const a = writer('a', events);
    const b = writer('b', events);
    const released = writer('released', events); // shut down, appends still in flight
    stream(state, 'with-a', a);
    stream(state, 'with-b', b);
    const quiet = stream(state, 'followed');
    quiet.followers = new FollowerSet();
    const follower = quiet.followers.add();
    router.track({ ordinal: 1, writer: a });
    router.track({ ordinal: 2, writer: a });
    router.track({ ordinal: 3, writer: released });
    router.failed(new StoreFailure('storage failure: disk on fire'));
    expect(events.sort()).toEqual([
      'a failed: storage failure: disk on fire',
      'b failed: storage failure: disk on fire',
      'released failed: storage failure: disk on fire',
    ]);
    const closed = follower.poll();
    expect(closed).toMatchObject({ kind: 'closed', error: { code: 'unavailable' } });
    expect((closed as { error: Error }).error.message).toBe(
      'stream unavailable after a storage failure: storage failure: disk on fire',
    );
    expect(quiet.followers.size).toBe(0);
    router.durableThrough(3); // the queue was cleared: nothing is reported after the failure
    expect(events).toHaveLength(3);
  });
});

describe('a log failure with appends in flight', () => {
  it('fails each append once, each streamer once, each follower once', async () => {
    const f = await setup();
    for (const name of ['s', 't', 'quiet']) await createStream(f, name);
    const session = await f.engine.openReadSession(basin, 'quiet', { start: { seqNum: 0 } });
    const outputs = track(
      (async () => {
        const seen: string[] = [];
        for await (const output of session) seen.push(output.kind);
        return seen;
      })(),
    );
    await settle();
    const fail = vi.spyOn(Streamer.prototype, 'fail');
    f.log.hold();
    const appends = [
      f.engine.append(basin, 's', input(['a'])),
      f.engine.append(basin, 's', input(['b'])),
      f.engine.append(basin, 't', input(['c'])),
    ].map((append) => track(append));
    await settle();
    f.log.fail('storage failure: disk on fire');
    await settle();
    expect(fail).toHaveBeenCalledTimes(2);
    fail.mockRestore();
    for (const append of appends) {
      expect(append.error()).toMatchObject({ code: 'storage' });
      expect((append.error() as Error).message).toBe('append could not be made durable: storage failure: disk on fire');
    }
    expect(outputs.settled()).toBe(true);
    expect(outputs.value()).toBeUndefined();
    expect(outputs.error()).toMatchObject({ code: 'unavailable' });
    await expect(f.engine.append(basin, 's', input(['d']))).rejects.toMatchObject({ code: 'unavailable' });
  });
});

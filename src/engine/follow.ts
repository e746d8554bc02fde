/**
 * Following a stream (lite-internals 1.6 "At tail"): a read session caught up to exactly the
 * durable tail subscribes to the stream's live batches. The followers live on the stream
 * (followers.ts) while it has any, so following is a read's only hold on the stream: a read
 * never builds write state, and a streamer going dormant does not end it.
 */
import { errors } from '../domain/errors.js';
import type { StreamPosition } from '../domain/types.js';
import { assert } from '../util/assert.js';
import type { EngineContext } from './context.js';
import { FollowerSet, type Follower } from './followers.js';
import type { StreamState } from './state.js';
import { streamUnavailable } from './storage-errors.js';

/**
 * Subscribes a reader at exactly the durable tail. Returns the newer durable tail instead if
 * `startSeqNum` is behind it (the reader catches up first).
 */
export function follow(ctx: EngineContext, stream: StreamState, startSeqNum: number): Follower | StreamPosition {
  const refusal = ctx.log.refusal();
  if (refusal !== undefined) throw streamUnavailable(refusal);
  if (stream.terminalTrimDurable) throw errors.unavailable('stream is no longer served (deleted)');
  if (ctx.shuttingDown) throw errors.unavailable('server shutting down');
  const tail = stream.tail;
  assert(startSeqNum <= tail.seqNum, 'follower start beyond the durable tail');
  if (startSeqNum < tail.seqNum) return { ...tail };
  stream.followers ??= new FollowerSet();
  return stream.followers.add();
}

export function unfollow(stream: StreamState, follower: Follower): void {
  const followers = stream.followers;
  if (!followers) return;
  followers.remove(follower);
  if (followers.size === 0) stream.followers = undefined;
}

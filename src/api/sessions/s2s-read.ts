/**
 * S2S read session (api.md 8.6): `GET .../records` with `Content-Type: s2s/proto`. Every output
 * of the engine's read session becomes one framed protobuf ReadBatch: catch-up batches without
 * `tail`, live batches with it, heartbeats as a ReadBatch with no records and the tail. A normal
 * end simply ends the body; a mid-stream error becomes a terminal frame (status + JSON body).
 *
 * The next output is pulled only after the previous frame was accepted by the transport, so a
 * slow client slows this loop instead of growing a buffer (see output.ts).
 */
import { RecordList } from '../../domain/record-list.js';
import type { SequencedRecord, StreamPosition } from '../../domain/types.js';
import { catchUpBuffers, liveFrameBuffers } from '../codec/out-buffers.js';
import { encodeReadBatchList } from '../codec/proto-stored.js';
import type { Request, Response } from '../http.js';
import type { Compression } from '../s2s/compression.js';
import { encodeTerminalFrame, frameReserved, frameReservedBytes } from '../s2s/frame.js';
import { serveReadSession } from './output.js';
import type { ReadSessionPort, SessionReadOutput } from './ports.js';

/**
 * Live batches reach every follower of a stream as the same records array (and tail object), so
 * their frame is encoded once and shared: with 100 followers, encoding per follower was most of
 * the fan-out cost. Keyed weakly by the records array; entries go when the batch is dropped, or
 * when the frame's memory goes back to the pool.
 */
const liveFrames = new WeakMap<object, LiveFrame>();

interface LiveFrame {
  records: object;
  tail: object;
  compression: Compression;
  frame: Uint8Array;
  /** Writes handed this frame whose transport is not done with it yet. */
  writes: number;
}

/** Live frames in memory from `liveFrameBuffers`, by frame: the last `written` gives it back. */
const pooledLiveFrames = new WeakMap<Uint8Array, LiveFrame>();

/**
 * The ReadBatch of `output`, encoded after room for the frame header and framed in place: one
 * buffer per frame (before, a live batch was encoded, then copied into its frame).
 */
function encodeFrame(list: RecordList, tail: StreamPosition | undefined, compression: Compression): Uint8Array {
  return frameReserved(encodeReadBatchList(list, tail, frameReservedBytes), compression);
}

/** The batch's records as a list (the engine always sets `list`; other ports may give only records). */
function listOf(output: { records: SequencedRecord[]; list?: RecordList }): RecordList {
  return output.list ?? RecordList.of(output.records);
}

function frameOf(output: SessionReadOutput, compression: Compression): Uint8Array {
  if (output.kind === 'heartbeat') return encodeFrame(new RecordList(), output.tail, compression);
  if (!output.tail) {
    // Catch-up: assembled from the stored blocks in a reused buffer (given back once written),
    // with room for the frame header in front.
    const list = listOf(output);
    const message = encodeReadBatchList(list, undefined, frameReservedBytes, catchUpBuffers.take);
    // The records are copied into the frame: their blocks' memory may be reused (storage/block-pool.ts).
    list.release();
    const frame = frameReserved(message, compression);
    if (frame !== message) catchUpBuffers.give(message); // compressed into a frame of its own
    return frame;
  }
  // Every call hands the frame to one write, whose `written` (below) counts it back.
  const cached = liveFrames.get(output.records);
  if (cached && cached.tail === output.tail && cached.compression === compression) {
    cached.writes++;
    return cached.frame;
  }
  const message = encodeReadBatchList(listOf(output), output.tail, frameReservedBytes, liveFrameBuffers.take);
  const frame = frameReserved(message, compression);
  const live = { records: output.records, tail: output.tail, compression, frame, writes: 1 };
  liveFrames.set(output.records, live);
  if (frame !== message) liveFrameBuffers.give(message); // compressed into a frame of its own
  else pooledLiveFrames.set(frame, live);
  return frame;
}

/**
 * The transport is done with `message`: a catch-up buffer goes back at once, a pooled live frame
 * once every write it was handed to is done (it leaves the cache first, so a follower that asks
 * for the batch later encodes it again). A write whose callback never comes (the client left)
 * leaves its buffer to the GC.
 */
function written(message: Uint8Array): void {
  catchUpBuffers.give(message);
  const live = pooledLiveFrames.get(message);
  if (live === undefined || --live.writes > 0) return;
  pooledLiveFrames.delete(message);
  if (liveFrames.get(live.records) === live) liveFrames.delete(live.records);
  liveFrameBuffers.give(message);
}

export function serveS2SRead(
  req: Request,
  res: Response,
  session: ReadSessionPort,
  compression: Compression,
): Promise<void> {
  return serveReadSession(req, res, session, {
    contentType: 's2s/proto',
    message: (output) => frameOf(output, compression),
    end: () => undefined,
    failure: ({ status, body }) => encodeTerminalFrame(status, body),
    // Only catch-up and live frames come from pools; give() ignores every other message.
    written: (message) => {
      if (typeof message !== 'string') written(message);
    },
  });
}

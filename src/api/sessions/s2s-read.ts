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
import { catchUpBuffers } from '../codec/out-buffers.js';
import { encodeReadBatchList } from '../codec/proto-stored.js';
import type { Request, Response } from '../http.js';
import type { Compression } from '../s2s/compression.js';
import { encodeTerminalFrame, frameReserved, frameReservedBytes } from '../s2s/frame.js';
import { serveReadSession } from './output.js';
import type { ReadSessionPort, SessionReadOutput } from './ports.js';

/**
 * Live batches reach every follower of a stream as the same records array (and tail object), so
 * their frame is encoded once and shared: with 100 followers, encoding per follower was most of
 * the fan-out cost. Keyed weakly by the records array; entries go when the batch is dropped.
 */
const liveFrames = new WeakMap<object, { tail: object; compression: Compression; frame: Uint8Array }>();

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
  const cached = liveFrames.get(output.records);
  if (cached && cached.tail === output.tail && cached.compression === compression) return cached.frame;
  const frame = encodeFrame(listOf(output), output.tail, compression);
  liveFrames.set(output.records, { tail: output.tail, compression, frame });
  return frame;
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
    // Only catch-up frames came from the pool; give() ignores every other message.
    written: (message) => {
      if (typeof message !== 'string') catchUpBuffers.give(message);
    },
  });
}

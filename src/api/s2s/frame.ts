/**
 * S2S frames (api.md 9.1-9.2): `[length: 3 bytes BE][flag: 1 byte][payload]`, where `length` counts flag + payload.
 *
 * Flag byte: bit 7 terminal; bits 6-5 compression (00 none, 01 zstd, 10 gzip, 11 invalid); bit 4 "reconnect advised"
 * (a server hint lite never sets; ignored on input); bits 3-0 reserved (ignored on input, zero on output).
 * Regular payloads are protobuf messages, compressed when the peer asked for it and the message is large enough
 * (api.md 9.3). Terminal payloads are a 2-byte HTTP status and the JSON error body, never compressed.
 */
import { errors } from '../../domain/errors.js';
import { compressionThresholdBytes, s2sFrameBytesMax, s2sPayloadBytesMax } from '../../limits.js';
import { compress, decompressBounded, type Compression } from './compression.js';

export const frameHeaderBytes = 3;
export const flagTerminal = 0x80;
export const flagZstd = 0x20;
export const flagGzip = 0x40;
const compressionMask = 0x60;

export interface Frame {
  /** A terminal frame; clients never send one, so the session layer rejects it (api.md 7.4). */
  terminal: boolean;
  /** How the payload travelled; `payload` is already decompressed. */
  compression: Compression;
  payload: Uint8Array;
}

function frame(flag: number, payload: Uint8Array, prefix?: Uint8Array): Uint8Array {
  const prefixBytes = prefix ? prefix.length : 0;
  const length = 1 + prefixBytes + payload.length;
  if (length > s2sFrameBytesMax) {
    throw errors.other(`S2S message of ${length} bytes exceeds the ${s2sFrameBytesMax}-byte frame limit`);
  }
  const out = Buffer.allocUnsafe(frameHeaderBytes + length);
  out[0] = length >>> 16;
  out[1] = (length >>> 8) & 0xff;
  out[2] = length & 0xff;
  out[3] = flag;
  if (prefix) out.set(prefix, 4);
  out.set(payload, 4 + prefixBytes);
  return out;
}

/**
 * Frames a protobuf message. It is compressed with `compression` only if at least `compressionThresholdBytes` long
 * (api.md 9.3), and sent uncompressed if compressing would not fit a frame (incompressible data near the limit).
 */
export function encodeRegularFrame(payload: Uint8Array, compression: Compression): Uint8Array {
  if (compression !== 'none' && payload.length >= compressionThresholdBytes) {
    const compressed = compress(payload, compression);
    if (1 + compressed.length <= s2sFrameBytesMax) {
      return frame(compression === 'zstd' ? flagZstd : flagGzip, compressed);
    }
  }
  return frame(0, payload);
}

/**
 * `encodeRegularFrame` for a message encoded after `frameReservedBytes` free bytes: the header is
 * written in front of it, in place, instead of copying the message into a new frame (a 1 MiB copy
 * per catch-up frame, 5.5% of the S2S catch-up profile). Compressed frames are built as usual.
 */
export const frameReservedBytes = frameHeaderBytes + 1;

export function frameReserved(buf: Uint8Array, compression: Compression): Uint8Array {
  const payload = buf.subarray(frameReservedBytes);
  if (compression !== 'none' && payload.length >= compressionThresholdBytes)
    return encodeRegularFrame(payload, compression);
  const length = 1 + payload.length;
  if (length > s2sFrameBytesMax) {
    throw errors.other(`S2S message of ${length} bytes exceeds the ${s2sFrameBytesMax}-byte frame limit`);
  }
  buf[0] = length >>> 16;
  buf[1] = (length >>> 8) & 0xff;
  buf[2] = length & 0xff;
  buf[3] = 0;
  return buf;
}

/**
 * Writes the header of an uncompressed regular frame of `payloadBytes` at `pos` (for encoders that
 * write several frames into one buffer); returns where the payload goes.
 */
export function writeRegularFrameHeader(buf: Uint8Array, pos: number, payloadBytes: number): number {
  const length = 1 + payloadBytes;
  if (length > s2sFrameBytesMax) {
    throw errors.other(`S2S message of ${length} bytes exceeds the ${s2sFrameBytesMax}-byte frame limit`);
  }
  buf[pos] = length >>> 16;
  buf[pos + 1] = (length >>> 8) & 0xff;
  buf[pos + 2] = length & 0xff;
  buf[pos + 3] = 0;
  return pos + frameReservedBytes;
}

/** Frames a terminal error: 2-byte status + the UTF-8 JSON body the unary endpoint would return (api.md 9.2). */
export function encodeTerminalFrame(status: number, jsonBody: string): Uint8Array {
  const status2 = new Uint8Array([status >>> 8, status & 0xff]);
  return frame(flagTerminal, Buffer.from(jsonBody, 'utf8'), status2);
}

/** Splits a terminal frame's payload (client side: tests, CLI, conformance). */
export function parseTerminalPayload(payload: Uint8Array): { status: number; body: string } {
  if (payload.length < 2) throw errors.badFrame('terminal frame shorter than its status code');
  return { status: (payload[0] << 8) | payload[1], body: Buffer.from(payload.subarray(2)).toString('utf8') };
}

/** Decodes the flag and payload of one frame (everything after the length), decompressing with the payload cap. */
export function decodeFrameBody(body: Uint8Array): Frame {
  return decodeFrameAt(body, 0, body.length);
}

/**
 * `decodeFrameBody` for the frame body at `buf[start, start + length)`: one view for the payload
 * instead of a view of the body and then of its payload (FrameReader, per input frame).
 */
export function decodeFrameAt(buf: Uint8Array, start: number, length: number): Frame {
  const flag = buf[start];
  const payload = buf.subarray(start + 1, start + length);
  const terminal = (flag & flagTerminal) !== 0;
  let compression: Compression;
  switch (flag & compressionMask) {
    case 0:
      compression = 'none';
      break;
    case flagZstd:
      compression = 'zstd';
      break;
    case flagGzip:
      compression = 'gzip';
      break;
    default:
      throw errors.badFrame('unknown compression algorithm');
  }
  if (terminal || compression === 'none') return { terminal, compression, payload };
  return { terminal, compression, payload: decompressBounded(payload, compression, s2sPayloadBytesMax) };
}

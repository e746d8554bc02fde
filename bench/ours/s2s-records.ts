/**
 * The records of an S2S read session's response body (api.md 9.1), decoded where they lie in the
 * chunks the HTTP client hands over, as a streaming protocol parser does (ioredis's parser slices
 * each bulk string of an XRANGE reply out of the socket chunk it arrived in).
 *
 * Why not FrameReader + decodeReadBatch: a catch-up frame is up to 1 MiB and arrives in ~64 KiB
 * chunks, so FrameReader assembles nearly every frame into a buffer of its own (a copy of every
 * byte and 1 MiB of fresh off-heap memory per frame, which drives the client's GC) before the batch
 * is decoded. Node's HTTP client has already copied each chunk once (its parser's body buffers), so
 * that was the third pass over every byte. Here a run of whole ReadBatch fields inside a chunk is
 * decoded in place; only a field cut by a chunk's end (about one record per chunk) is copied, into
 * a buffer of exactly its size. Terminal and compressed frames are small or need their whole
 * payload anyway: they are assembled and decoded whole.
 *
 * Every record is decoded as decodeReadBatch decodes it (seq_num, timestamp, headers, body view).
 * The body of a unary protobuf read (one bare ReadBatch) is read the same way: the bench's page
 * reader used to concatenate every ~1 MiB page before decoding it, which ioredis does not do for
 * an XRANGE reply either.
 */
import type { SequencedRecord } from '../../src/domain/types.js';
import { decodeReadBatch, decodeReadBatchInto } from '../../src/api/codec/proto-client.js';
import type { ReadBatch } from '../../src/api/codec/proto.js';
import { decompressBounded } from '../../src/api/s2s/compression.js';
import { flagGzip, flagTerminal, flagZstd, frameHeaderBytes, parseTerminalPayload } from '../../src/api/s2s/frame.js';
import { s2sFrameBytesMax, s2sPayloadBytesMax } from '../../src/limits.js';

export interface S2SReadSink {
  /**
   * The records of one run of fields (part of a batch, or a whole one), in order. Their bodies and
   * headers are views of the pushed chunk (or of the decoder's own copy of a cut field), so a
   * chunk's memory must not be reused while they are kept: node:http hands each `data` chunk over
   * for good (fresh socket reads), which is what `push` relies on.
   */
  records(records: SequencedRecord[]): void;
  /** A terminal frame: the session failed with this status and JSON body. */
  terminal(status: number, body: string): void;
}

/** Length bytes + flag byte. */
const frameHeadBytes = frameHeaderBytes + 1;
/** A field's tag and length varints take at most 20 bytes; a longer cut head is malformed. */
const fieldHeadBytesMax = 20;

const enum Mode {
  /** At a frame's 4 header bytes. */
  Head,
  /** Inside an uncompressed regular frame: ReadBatch fields, decoded run by run. */
  Fields,
  /** Inside a terminal or compressed frame: its payload is assembled and decoded whole. */
  Whole,
}

export class S2SRecordReader {
  private mode: Mode;
  private flag = 0;
  /** Payload bytes of the current frame not consumed yet (a bare ReadBatch: unbounded). */
  private frameLeft: number;
  /** The start of a unit (frame head or field head) cut by a chunk's end, before its size is known. */
  private readonly cut = new Uint8Array(32);
  private cutFill = 0;
  /** A unit of known size cut by a chunk's end, filled from the next chunks. */
  private unit: Uint8Array | null = null;
  private unitFill = 0;

  /**
   * `framed` false: the body is one bare ReadBatch (a unary `application/protobuf` read, api.md
   * 1.7) instead of S2S frames; its records are decoded the same way, chunk by chunk.
   */
  constructor(
    private readonly sink: S2SReadSink,
    private readonly framed = true,
  ) {
    this.mode = framed ? Mode.Head : Mode.Fields;
    this.frameLeft = framed ? 0 : Infinity;
  }

  /** Decodes what `chunk` completes. Throws on a malformed body; the reader is then unusable. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    if (this.unit !== null) pos = this.fillUnit(chunk, 0);
    else if (this.cutFill > 0) pos = this.finishCut(chunk);
    if (pos >= 0) this.scan(chunk, pos);
  }

  /** Call when the body ended: throws if it stopped inside a frame (or a bare batch's field). */
  end(): void {
    if ((this.framed && this.mode !== Mode.Head) || this.cutFill > 0 || this.unit !== null) {
      throw new Error(this.framed ? 'S2S read session body ended inside a frame' : 'ReadBatch ended inside a field');
    }
  }

  /** Bytes of `unit` copied from `chunk` at `pos`; returns where the chunk continues, or -1 if it was used up. */
  private fillUnit(chunk: Uint8Array, pos: number): number {
    const unit = this.unit!;
    const n = Math.min(unit.length - this.unitFill, chunk.length - pos);
    unit.set(chunk.subarray(pos, pos + n), this.unitFill);
    this.unitFill += n;
    if (this.unitFill < unit.length) return -1;
    this.unit = null;
    this.consume(unit, 0, unit.length);
    return pos + n;
  }

  /** Completes a unit whose head was cut, with the first bytes of `chunk`. */
  private finishCut(chunk: Uint8Array): number {
    const had = this.cutFill;
    const peek = Math.min(this.cut.length - had, chunk.length);
    this.cut.set(chunk.subarray(0, peek), had);
    const size = this.sizeAt(this.cut, 0, had + peek, this.frameLeft);
    if (size < 0) {
      if (had + peek >= fieldHeadBytesMax) throw new Error('S2S read session: malformed field head');
      this.cutFill += peek;
      return -1;
    }
    if (size <= had + peek) {
      // Copied out: the records decoded from it must not share `cut`, which is reused.
      this.cutFill = 0;
      this.consume(Buffer.from(this.cut.subarray(0, size)), 0, size);
      return size - had;
    }
    this.cutFill = 0;
    this.unit = Buffer.allocUnsafe(size);
    this.unit.set(this.cut.subarray(0, had));
    this.unitFill = had;
    return this.fillUnit(chunk, 0);
  }

  /**
   * The size of the unit starting at `buf[start]` given the bytes up to `end`, or -1 if its head
   * is not complete there. Throws when a field would run past its frame (`left` bytes from `start`).
   */
  private sizeAt(buf: Uint8Array, start: number, end: number, left: number): number {
    if (this.mode === Mode.Head) return frameHeadBytes;
    if (this.mode === Mode.Whole) return left;
    let p = start;
    let key = 0;
    for (let shift = 0; ; shift += 7) {
      if (p >= end) return -1;
      const b = buf[p++]!;
      key += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      if (shift > 28) throw new Error('S2S read session: malformed field tag');
    }
    let size: number;
    switch (key & 7) {
      case 0: // varint
        size = 0;
        for (;;) {
          if (p + size >= end) return -1;
          if (buf[p + size++]! < 0x80) break;
        }
        break;
      case 1:
        size = 8;
        break;
      case 5:
        size = 4;
        break;
      case 2: {
        let len = 0;
        for (let shift = 0; ; shift += 7) {
          if (p >= end) return -1;
          const b = buf[p++]!;
          len += (b & 0x7f) * 2 ** shift;
          if (b < 0x80) break;
          if (shift > 28) throw new Error('S2S read session: malformed field length');
        }
        size = len;
        break;
      }
      default:
        throw new Error(`S2S read session: unexpected wire type ${key & 7} in a ReadBatch`);
    }
    size += p - start;
    if (size > left) throw new Error('S2S read session: a ReadBatch field runs past its frame');
    return size;
  }

  /** Handles one whole unit at `buf[start, start + size)`. */
  private consume(buf: Uint8Array, start: number, size: number): void {
    if (this.mode === Mode.Head) {
      const length = (buf[start]! << 16) | (buf[start + 1]! << 8) | buf[start + 2]!;
      if (length === 0 || length > s2sFrameBytesMax) throw new Error(`S2S read session: frame length ${length}`);
      this.flag = buf[start + 3]!;
      this.frameLeft = length - 1;
      this.mode = (this.flag & (flagTerminal | flagZstd | flagGzip)) === 0 ? Mode.Fields : Mode.Whole;
      // A frame of nothing but its flag ends here (an empty batch; a terminal frame without status fails).
      if (this.frameLeft === 0) {
        if (this.mode === Mode.Whole) this.whole(buf.subarray(start, start));
        this.mode = Mode.Head;
      }
      return;
    }
    if (this.mode === Mode.Whole) {
      this.whole(buf.subarray(start, start + size));
      return;
    }
    this.fields(buf, start, start + size);
  }

  private fields(buf: Uint8Array, start: number, end: number): void {
    const batch: ReadBatch = { records: [] };
    decodeReadBatchInto(buf, start, end, batch);
    this.frameLeft -= end - start;
    if (this.frameLeft === 0) this.mode = Mode.Head;
    if (batch.records.length > 0) this.sink.records(batch.records);
  }

  private whole(payload: Uint8Array): void {
    const flag = this.flag;
    this.frameLeft = 0;
    this.mode = Mode.Head;
    if ((flag & flagTerminal) !== 0) {
      const { status, body } = parseTerminalPayload(payload);
      this.sink.terminal(status, body);
      return;
    }
    const compression = (flag & flagZstd) !== 0 ? 'zstd' : 'gzip';
    const batch = decodeReadBatch(decompressBounded(payload, compression, s2sPayloadBytesMax));
    if (batch.records.length > 0) this.sink.records(batch.records);
  }

  /** Decodes `chunk` from `pos` on: whole units in place; a cut one is kept for the next chunk. */
  private scan(chunk: Uint8Array, pos: number): void {
    const n = chunk.length;
    while (pos < n) {
      if (this.mode === Mode.Fields) {
        // The run of whole fields that lies in this chunk and frame, decoded with one call.
        const limit = Math.min(n, pos + this.frameLeft);
        let p = pos;
        for (;;) {
          const size = this.sizeAt(chunk, p, limit, this.frameLeft - (p - pos));
          if (size < 0 || p + size > limit) break;
          p += size;
          if (p === limit) break;
        }
        if (p > pos) {
          this.fields(chunk, pos, p);
          pos = p;
          continue;
        }
      } else {
        const size = this.sizeAt(chunk, pos, n, this.frameLeft);
        if (pos + size <= n) {
          this.consume(chunk, pos, size);
          pos += size;
          continue;
        }
      }
      // The unit at `pos` is cut by the chunk's end.
      const size = this.sizeAt(chunk, pos, n, this.frameLeft);
      if (size < 0) {
        if (n - pos >= fieldHeadBytesMax) throw new Error('S2S read session: malformed field head');
        this.cut.set(chunk.subarray(pos), 0);
        this.cutFill = n - pos;
      } else {
        this.unit = Buffer.allocUnsafe(size);
        this.unitFill = 0;
        this.fillUnit(chunk, pos);
      }
      return;
    }
  }
}

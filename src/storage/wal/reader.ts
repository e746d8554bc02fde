/**
 * Recovery: reads the log files in seq order and yields, in chunk-id order, every frame after a
 * given chunk id, telling a torn tail (discarded) from damage (refused).
 *
 * What a crash can leave: the writer writes a batch, fdatasyncs, and only then acknowledges it, so
 * only frames written after the last completed fdatasync can be torn, missing, or (after a power
 * loss, which persists pages in any order) intact behind a torn one. Such frames were never
 * acknowledged. Every frame records `syncedThrough`, the last chunk a completed fdatasync covered
 * when it was written. So when chunk ids jump (a frame is missing or unreadable: a hole), the
 * frames after the hole decide:
 *
 * - a later frame of the same writer with `syncedThrough` at or past the first missing chunk proves
 *   that chunk was durable: damage. `WalCorruptError` names the file and the byte offset where the
 *   missing frame belongs;
 * - later frames of the same writer that do not prove it are remnants of the unsynced batch: they
 *   are skipped, and so is everything else that writer wrote after the hole;
 * - a newer writer's opening frame must continue exactly after the last frame kept (it recorded
 *   where its own recovery ended); any other continuation is damage or a broken chain.
 *
 * Damage in the very last batch of a writer that crashed before anything followed it looks the
 * same as a torn write and is discarded: no later write exists to prove it was durable. That is
 * why every writer starts with an opening frame, synced before its first acknowledgement.
 *
 * Files are read whole (one at a time) and bodies are yielded as views into that buffer.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { WalCorruptError, WalError } from './errors.js';
import { errnoOf, listDir } from './files.js';
import {
  decodeFileHeader,
  decodeFrameAt,
  fileHeaderBytes,
  fileIdentity,
  frameHeaderBytes,
  frameMagic,
  frameSpan,
  UnsupportedVersionError,
  type FileHeader,
  type FrameHeader,
} from './format.js';

export interface RecoveredFrame {
  chunkId: number;
  epoch: number;
  /** A writer's first frame: it carries no commits (the counterpart of a fence chunk). */
  opening: boolean;
  /** A view into the file buffer: copy what must outlive the next frame's processing. */
  body: Uint8Array;
  file: string;
  offset: number;
}

/** What recovery learned about one log file, for the writer that continues the log. */
export interface LogFileInfo {
  seq: number;
  path: string;
  /** Header intact and naming this file: the file was in use. */
  header: FileHeader | null;
  /** Chunk ids of the frames kept from this file (0 when none). */
  firstChunkId: number;
  lastChunkId: number;
}

interface Location {
  file: string;
  offset: number;
}

interface Hole {
  /** First chunk id that is missing. */
  from: number;
  /** Epoch of the writer that left the hole. */
  epoch: number;
  /** Where the missing frame belongs. */
  at: Location;
}

/** The chain of frames across files: decides, frame by frame, keep, skip, or refuse. */
class Chain {
  last: { chunkId: number; epoch: number } | null = null;
  private lastEnd: Location | null = null;
  private hole: Hole | null = null;
  private epochMax = 0;

  constructor(private readonly afterChunkId: number) {}

  /** True if the frame continues the log; false if it is a remnant to skip. Throws on damage. */
  accept(frame: FrameHeader, at: Location, span: number): boolean {
    if (frame.epoch < this.epochMax) {
      throw corrupt(at, `frame of writer epoch ${frame.epoch} after epoch ${this.epochMax}`);
    }
    if (this.hole) {
      if (!this.closesHole(this.hole, frame, at)) return false;
      this.hole = null;
    } else if (this.last) {
      const expected = this.last.chunkId + 1;
      if (frame.epoch === this.last.epoch) {
        if (frame.chunkId < expected) throw corrupt(at, `chunk ${frame.chunkId} after chunk ${this.last.chunkId}`);
        if (frame.opening) throw corrupt(at, `opening frame in the middle of writer epoch ${frame.epoch}`);
        if (frame.chunkId > expected) {
          this.hole = { from: expected, epoch: this.last.epoch, at: this.lastEnd! };
          return this.accept(frame, at, span);
        }
      } else {
        if (!frame.opening) throw corrupt(at, `writer epoch ${frame.epoch} starts without an opening frame`);
        if (frame.chunkId > expected) {
          throw corrupt(
            this.lastEnd!,
            `writer epoch ${frame.epoch} recovered through chunk ${frame.chunkId - 1}, but the log ends at chunk ${this.last.chunkId} here`,
          );
        }
        if (frame.chunkId < expected) throw corrupt(at, `writer epoch ${frame.epoch} opens at chunk ${frame.chunkId}`);
      }
    } else if (frame.chunkId > this.afterChunkId + 1) {
      throw corrupt(at, `the log starts at chunk ${frame.chunkId}, but chunks after ${this.afterChunkId} are missing`);
    }
    this.last = { chunkId: frame.chunkId, epoch: frame.epoch };
    this.lastEnd = { file: at.file, offset: at.offset + span };
    this.epochMax = frame.epoch;
    return true;
  }

  /** While a hole is open: false to skip a remnant, true if a newer writer continues after it. */
  private closesHole(hole: Hole, frame: FrameHeader, at: Location): boolean {
    if (frame.epoch === hole.epoch) {
      if (frame.syncedThrough >= hole.from) {
        throw corrupt(
          hole.at,
          `chunk ${hole.from} is missing or damaged, but chunk ${frame.chunkId} (${describe(at)}) was written after it was durable`,
        );
      }
      return false;
    }
    if (!frame.opening) throw corrupt(at, `writer epoch ${frame.epoch} starts without an opening frame`);
    if (frame.chunkId > hole.from) {
      throw corrupt(
        hole.at,
        `chunk ${hole.from} is missing or damaged, but writer epoch ${frame.epoch} had recovered through chunk ${frame.chunkId - 1}`,
      );
    }
    if (frame.chunkId < hole.from) throw corrupt(at, `writer epoch ${frame.epoch} opens at chunk ${frame.chunkId}`);
    return true;
  }
}

function describe(at: Location): string {
  return `${path.basename(at.file)} byte ${at.offset}`;
}

function corrupt(at: Location, reason: string): WalCorruptError {
  return new WalCorruptError(at.file, at.offset, reason);
}

/** Reads a log directory once: `frames()`, then `lastChunkId`, `lastEpoch` and `files`. */
export class WalRecovery {
  private readonly chain: Chain;
  private readonly infos: LogFileInfo[] = [];
  private consumed = false;
  private finished = false;

  private constructor(
    readonly dir: string,
    readonly afterChunkId: number,
    private readonly listed: { seq: number; path: string }[],
    /** Temp files of interrupted preparations, for the writer to delete. */
    readonly temps: string[],
  ) {
    this.chain = new Chain(afterChunkId);
  }

  /** Lists `dir` (creating it if missing). `afterChunkId`: chunks up to it are folded elsewhere. */
  static async open(dir: string, afterChunkId: number): Promise<WalRecovery> {
    const listed = await listDir(dir);
    return new WalRecovery(dir, afterChunkId, listed.files, listed.temps);
  }

  /** Frames with chunk ids above `afterChunkId`, in order. Throws `WalCorruptError` on damage. */
  async *frames(): AsyncGenerator<RecoveredFrame> {
    if (this.consumed) throw new WalError('closed', 'the write-ahead log was already read');
    this.consumed = true;
    // The next file is read while this one is checked: reads (and first-touch page faults of the
    // buffer) run in libuv's pool while the CRCs run here.
    let next = this.listed.length > 0 ? readWhole(this.listed[0].path) : null;
    for (let i = 0; i < this.listed.length; i++) {
      const listed = this.listed[i];
      const bytes = await next!;
      next = i + 1 < this.listed.length ? readWhole(this.listed[i + 1].path) : null;
      next?.catch(() => undefined); // awaited (and reported) on the next turn, if recovery gets there
      const info: LogFileInfo = { ...listed, header: null, firstChunkId: 0, lastChunkId: 0 };
      this.infos.push(info);
      for (const { frame, offset, body } of fileFrames(listed.path, listed.seq, bytes, info)) {
        if (!this.chain.accept(frame, { file: listed.path, offset }, frameSpan(frame.bodyLength))) continue;
        if (info.firstChunkId === 0) info.firstChunkId = frame.chunkId;
        info.lastChunkId = frame.chunkId;
        if (frame.chunkId <= this.afterChunkId) continue;
        yield { chunkId: frame.chunkId, epoch: frame.epoch, opening: frame.opening, body, file: listed.path, offset };
      }
    }
    this.finished = true;
  }

  /** The last chunk the log holds, or `afterChunkId` if that is later. */
  get lastChunkId(): number {
    this.assertFinished();
    return Math.max(this.afterChunkId, this.chain.last?.chunkId ?? 0);
  }

  /** The newest writer epoch in the log (0 if none): the next writer's must be higher. */
  get lastEpoch(): number {
    this.assertFinished();
    return this.chain.last?.epoch ?? 0;
  }

  get files(): readonly LogFileInfo[] {
    this.assertFinished();
    return this.infos;
  }

  private assertFinished(): void {
    if (!this.finished) throw new WalError('closed', 'read every frame of the write-ahead log first');
  }
}

async function readWhole(file: string): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const bytes = Buffer.allocUnsafeSlow(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(bytes, done, size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return bytes.subarray(0, done);
  } catch (error) {
    throw new WalError('io', `cannot read write-ahead log file ${file}: ${errnoOf(error) ?? String(error)}`, {
      cause: error,
    });
  } finally {
    await handle.close();
  }
}

interface FoundFrame {
  frame: FrameHeader;
  offset: number;
  body: Uint8Array;
}

/**
 * The intact frames of one file, in file order: parsed back to back, and after anything that is
 * not a frame, found again by scanning 8-byte aligned positions for the frame magic (frames that
 * follow a torn or damaged one). Frames of an earlier use of a recycled file never match its
 * identity (seq and salt).
 */
function* fileFrames(file: string, seq: number, bytes: Uint8Array, info: LogFileInfo): Generator<FoundFrame> {
  const header = readHeader(file, bytes);
  if (!header || header.seq !== seq) {
    checkUnusedFile(file, seq, bytes);
    return;
  }
  info.header = header;
  const identity = fileIdentity(header.seq, header.salt);
  let at = fileHeaderBytes;
  for (;;) {
    const frame = decodeFrameAt(bytes, at, identity);
    if (frame) {
      if (frame.epoch !== header.epoch) {
        throw new WalCorruptError(file, at, `frame of writer epoch ${frame.epoch} in a file of epoch ${header.epoch}`);
      }
      const bodyAt = at + frameHeaderBytes;
      yield { frame, offset: at, body: bytes.subarray(bodyAt, bodyAt + frame.bodyLength) };
      at += frameSpan(frame.bodyLength);
      continue;
    }
    at = nextFrameCandidate(bytes, at + 8, identity);
    if (at < 0) return;
  }
}

function readHeader(file: string, bytes: Uint8Array): FileHeader | null {
  try {
    return decodeFileHeader(bytes);
  } catch (error) {
    if (error instanceof UnsupportedVersionError) {
      throw new WalError('unsupported', `write-ahead log file ${file}: ${error.message} (written by a newer build)`);
    }
    throw error;
  }
}

/** Offset of the next position from `from` holding an intact frame of this file, or -1. */
function nextFrameCandidate(bytes: Uint8Array, from: number, identity: Uint8Array): number {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  for (let i = from >>> 2; i < words.length; i += 2) {
    if (words[i] === frameMagic && decodeFrameAt(bytes, i << 2, identity)) return i << 2;
  }
  return -1;
}

/**
 * A file whose header is not intact for its name is unused: never activated (zero-filled), or
 * recycled (its header names its earlier seq), or activated by a write that a crash tore before
 * its fdatasync. The last case could also be damage to a header that was synced; that is told
 * apart like a hole: if the frames right after the header name it, and a later one among them was
 * written after an earlier one was durable, the file was in use.
 */
function checkUnusedFile(file: string, seq: number, bytes: Uint8Array): void {
  if (bytes.length < fileHeaderBytes + frameHeaderBytes) return;
  const identity = bytes.subarray(fileHeaderBytes + 16, fileHeaderBytes + 32);
  const named = new DataView(identity.buffer, identity.byteOffset, 8);
  if (named.getUint32(0, true) + named.getUint32(4, true) * 2 ** 32 !== seq) return;
  const ownIdentity = Uint8Array.from(identity);
  let at = fileHeaderBytes;
  let first = 0;
  for (let frame = decodeFrameAt(bytes, at, ownIdentity); frame; frame = decodeFrameAt(bytes, at, ownIdentity)) {
    if (first === 0) first = frame.chunkId;
    else if (frame.syncedThrough >= first) {
      throw new WalCorruptError(
        file,
        0,
        `the file header is damaged, but chunk ${frame.chunkId} in the file was written after chunk ${first} was durable`,
      );
    }
    at += frameSpan(frame.bodyLength);
  }
}

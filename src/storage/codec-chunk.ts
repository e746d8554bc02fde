/**
 * Chunk objects (`chunk/<id>`): one group commit each, the write-ahead log of an object store.
 *
 * Frame fields: writer epoch, chunk id, previous chunk id in the writer's chain (see
 * docs/formats.md "Recovery"); body: u32 commit count, then the commits (codec-mutation.ts).
 * A fence chunk is a chunk with zero commits.
 */
import { ByteReader, ByteWriter, CorruptDataError } from './binary.js';
import { decodeCommit } from './codec-mutation.js';
import { decodeFrame, decodeFrameHeader, encodeFrame } from './framing.js';
import type { Mutation } from './types.js';

export const chunkMagic = 'S2LC';
export const chunkFormatVersion = 1;
/** Bytes of a v1 chunk header: enough for a ranged GET that learns the writer epoch. */
export const chunkHeaderBytes = 4 + 2 + 2 + 8 + 8 + 8 + 4 + 4 + 4 + 4;

export interface ChunkHeader {
  epoch: number;
  chunkId: number;
  /** Id of the chunk this one follows in its writer's chain; 0 = none (the first ever). */
  prevChunkId: number;
}

export interface Chunk extends ChunkHeader {
  commits: Mutation[][];
}

const spec = { magic: chunkMagic, versions: [chunkFormatVersion] };

function writeHeader(writer: ByteWriter, header: ChunkHeader): void {
  writer.u64(header.epoch).u64(header.chunkId).u64(header.prevChunkId);
}

function readHeader(reader: ByteReader): ChunkHeader {
  return { epoch: reader.u64(), chunkId: reader.u64(), prevChunkId: reader.u64() };
}

/** `encodedCommits` are outputs of `encodeCommit`, in commit order. */
export function encodeChunk(header: ChunkHeader, encodedCommits: Uint8Array[], compressMinBytes: number): Uint8Array {
  const writer = new ByteWriter(4 + encodedCommits.reduce((sum, commit) => sum + commit.length, 0));
  writer.u32(encodedCommits.length);
  for (const commit of encodedCommits) writer.raw(commit);
  return encodeFrame(
    { magic: chunkMagic, version: chunkFormatVersion, compressMinBytes },
    (w) => writeHeader(w, header),
    writer.finish(),
  );
}

/** Verifies checksums and decodes the whole chunk. `expectedId` guards against a misnamed object. */
export function decodeChunk(data: Uint8Array, expectedId?: number): Chunk {
  const what = expectedId === undefined ? 'chunk' : `chunk ${expectedId}`;
  const frame = decodeFrame(data, { ...spec, what }, readHeader);
  checkId(frame.fields, expectedId, what);
  return { ...frame.fields, commits: decodeChunkBody(frame.body, what) };
}

/**
 * Decodes a chunk body (`u32 commit count`, then the commits): the body of a chunk object, and of
 * a write-ahead log frame. Record bytes are copied out of `body`.
 */
export function decodeChunkBody(body: Uint8Array, what: string): Mutation[][] {
  const reader = new ByteReader(body, what);
  const count = reader.count(4);
  const commits: Mutation[][] = [];
  for (let i = 0; i < count; i++) commits.push(decodeCommit(reader));
  reader.end();
  return commits;
}

/** Decodes only the header (from at least the first `chunkHeaderBytes` bytes). */
export function decodeChunkHeader(data: Uint8Array, expectedId?: number): ChunkHeader {
  const what = expectedId === undefined ? 'chunk header' : `chunk ${expectedId} header`;
  const header = decodeFrameHeader(data.subarray(0, chunkHeaderBytes), { ...spec, what }, readHeader).fields;
  checkId(header, expectedId, what);
  return header;
}

function checkId(header: ChunkHeader, expectedId: number | undefined, what: string): void {
  if (expectedId !== undefined && header.chunkId !== expectedId) {
    throw new CorruptDataError(`${what}: header says chunk ${header.chunkId}`);
  }
}

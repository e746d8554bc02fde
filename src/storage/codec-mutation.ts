/**
 * Binary encoding of commits (lists of mutations) inside chunk bodies, and of record payloads
 * (headers + body) shared with segment blocks. Layouts are drawn in docs/formats.md; tags are
 * persisted and must never be renumbered.
 */
import type { Header, SequencedRecord } from '../domain/types.js';
import { assert } from '../util/assert.js';
import { ByteReader, ByteWriter, CorruptDataError, type Slab } from './binary.js';
import { parseJson } from './codec-json.js';
import { persistAccessToken, readAccessToken, readTokenHash } from './codec-access-token.js';
import { persistBasinMeta, persistStreamMeta, readBasinMeta, readStreamMeta } from './codec-meta.js';
import type { Append, Mutation } from './types.js';
import type { BodyAlignment } from './wal/index.js';

const tagBasinPut = 1;
const tagBasinDelete = 2;
const tagStreamPut = 3;
const tagStreamDelete = 4;
const tagAppend = 5;
const tagAccessTokenPut = 6;
const tagAccessTokenDelete = 7;
const tagRootTokenPut = 8;

const appendHasFencingToken = 1;
const appendHasTrimPoint = 2;
const appendHasExpiry = 4;

/** Headers then body: u32 header count, (name, value) length-prefixed, length-prefixed body. */
export function writeRecordPayload(writer: ByteWriter, record: { headers: Header[]; body: Uint8Array }): void {
  writer.u32(record.headers.length);
  for (const [name, value] of record.headers) writer.bytes(name).bytes(value);
  writer.bytes(record.body);
}

/** `views`: headers and body are views of the reader's input instead of copies (see decodeBlock). */
export function readRecordPayload(reader: ByteReader, views = false): { headers: Header[]; body: Uint8Array } {
  const headerCount = reader.count(8);
  const headers: Header[] = [];
  const take = views ? () => reader.bytesView() : () => reader.bytes();
  for (let i = 0; i < headerCount; i++) headers.push([take(), take()]);
  return { headers, body: take() };
}

/** Encodes one commit: u32 mutation count, then each mutation (tag:u8, fields). */
export function encodeCommit(mutations: Mutation[]): Uint8Array {
  const appends = appendCommit(mutations);
  if (appends) {
    const out = new Uint8Array(appends.length);
    appends.writeTo(out);
    return out;
  }
  const writer = new ByteWriter(commitSizeEstimate(mutations));
  writeCommit(writer, mutations);
  return writer.finish(); // presized: no copy
}

/** `encodeCommit` into a region of `slab` (the write path: no allocation per commit). */
export function encodeCommitIn(slab: Slab, mutations: Mutation[]): Uint8Array {
  const appends = appendCommit(mutations);
  if (!appends) return slab.encode(commitSizeEstimate(mutations), (writer) => writeCommit(writer, mutations));
  const region = slab.region(appends.length).subarray(0, appends.length);
  appends.writeTo(region);
  slab.consume(appends.length);
  return region;
}

/**
 * A commit's encoding not yet written: its exact length, and a method that writes it into a
 * region of that length. The write-ahead log calls it with a region of its ring, so a record
 * body is copied once on its way from the request to the disk (docs/architecture.md).
 */
export interface CommitWriter {
  readonly length: number;
  writeTo(target: Uint8Array): void;
  /**
   * Where its largest record body goes in the encoding, and its source's address mod 8, if it has
   * one worth aligning: the log then places the frame so that body is copied aligned (wal/parts.ts).
   */
  readonly align?: BodyAlignment;
}

/** Bodies below this are not worth a gap in the ring (and a write of their own). */
const alignBytesMin = 4096;

/**
 * The encoding of a commit of appends only (the write path's commits) as a `CommitWriter`, or
 * undefined for any other commit (`encodeCommit` then). Everything the encoder would refuse is
 * refused here, when the commit is submitted, so that writing it later cannot fail.
 */
export function appendCommit(mutations: Mutation[]): CommitWriter | undefined {
  let length = 4;
  const align: BodyAlignment = { at: 0, mod: 0, bytes: alignBytesMin - 1 };
  for (const mutation of mutations) {
    if (mutation.kind !== 'append') return undefined;
    length += appendBytes(mutation, length, align);
  }
  return new AppendCommit(mutations as Append[], length, align.bytes >= alignBytesMin ? align : undefined);
}

/**
 * Exact encoded size of an append (the layout of `writeAppend`), checking what it would assert;
 * notes in `align` where its largest body goes if larger than any so far (the append starts at `base`).
 */
function appendBytes(append: Append, base: number, align: BodyAlignment): number {
  const records = append.records;
  assert(records.length > 0, 'an append carries at least one record');
  const first = records[0].seqNum;
  checkU64(first);
  checkU64(append.tail.seqNum);
  checkU64Big(append.tail.timestamp);
  checkU64(append.writtenAtMs);
  let n = 1 + 4 + utf8Bytes(append.stream) + 8 + 8 + 1 + 8 + 4 + 8;
  if (append.fencingToken !== undefined) n += 4 + utf8Bytes(append.fencingToken);
  if (append.trimPoint !== undefined) n += checkU64(append.trimPoint);
  if (append.expiresAtMs !== null) n += checkU64(append.expiresAtMs);
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (record.seqNum !== first + i) assert(false, 'append seq_nums are consecutive');
    checkU64Big(record.timestamp);
    n += 8 + 4;
    const headers = record.headers;
    for (let h = 0; h < headers.length; h++) n += 8 + headers[h][0].length + headers[h][1].length;
    const body = record.body;
    if (body.length > align.bytes) {
      align.bytes = body.length;
      align.at = base + n + 4;
      align.mod = body.byteOffset & 7;
    }
    n += 4 + body.length;
  }
  return n;
}

/** 8 (its encoded size) if `value` is storable as u64 (see ByteWriter.u64); else an assertion error. */
function checkU64(value: number): number {
  if (!(Number.isSafeInteger(value) && value >= 0)) assert(false, `u64 number out of range: ${value}`);
  return 8;
}

function checkU64Big(value: bigint): void {
  if (!(value >= 0n && value <= u64MaxBig)) assert(false, `u64 bigint out of range: ${value}`);
}

const u64MaxBig = (1n << 64n) - 1n;
const textEncoder = new TextEncoder();

function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/**
 * Writes appends with a DataView over the target, as `writeAppend` lays them out: no BigInt for
 * number fields, no string allocation for ASCII names, no per-field bounds growth.
 */
class AppendCommit implements CommitWriter {
  constructor(
    private readonly appends: Append[],
    readonly length: number,
    readonly align: BodyAlignment | undefined,
  ) {}

  writeTo(target: Uint8Array): void {
    assert(target.length === this.length, 'commit region has the encoded length');
    const dv = new DataView(target.buffer, target.byteOffset, target.byteLength);
    dv.setUint32(0, this.appends.length, true);
    let at = 4;
    for (const append of this.appends) at = writeAppendAt(target, dv, at, append);
    assert(at === this.length, 'commit encoded to its computed length');
  }
}

function writeAppendAt(out: Uint8Array, dv: DataView, at: number, append: Append): number {
  let flags = 0;
  if (append.fencingToken !== undefined) flags |= appendHasFencingToken;
  if (append.trimPoint !== undefined) flags |= appendHasTrimPoint;
  if (append.expiresAtMs !== null) flags |= appendHasExpiry;
  out[at++] = tagAppend;
  at = putString(out, dv, at, append.stream);
  at = putU64(dv, at, append.tail.seqNum);
  dv.setBigUint64(at, append.tail.timestamp, true);
  out[at + 8] = flags;
  at += 9;
  if (append.fencingToken !== undefined) at = putString(out, dv, at, append.fencingToken);
  if (append.trimPoint !== undefined) at = putU64(dv, at, append.trimPoint);
  at = putU64(dv, at, append.writtenAtMs);
  if (append.expiresAtMs !== null) at = putU64(dv, at, append.expiresAtMs);
  const records = append.records;
  dv.setUint32(at, records.length, true);
  at = putU64(dv, at + 4, records[0].seqNum);
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    dv.setBigUint64(at, record.timestamp, true);
    const headers = record.headers;
    dv.setUint32(at + 8, headers.length, true);
    at += 12;
    for (let h = 0; h < headers.length; h++) {
      at = putBytes(out, dv, at, headers[h][0]);
      at = putBytes(out, dv, at, headers[h][1]);
    }
    at = putBytes(out, dv, at, record.body);
  }
  return at;
}

function putU64(dv: DataView, at: number, value: number): number {
  dv.setUint32(at, value >>> 0, true);
  dv.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
  return at + 8;
}

function putBytes(out: Uint8Array, dv: DataView, at: number, bytes: Uint8Array): number {
  dv.setUint32(at, bytes.length, true);
  out.set(bytes, at + 4);
  return at + 4 + bytes.length;
}

function putString(out: Uint8Array, dv: DataView, at: number, value: string): number {
  const length = utf8Bytes(value);
  dv.setUint32(at, length, true);
  at += 4;
  if (length === value.length) {
    // ASCII (stream ids, most tokens): as many bytes as UTF-16 units, each below 0x80.
    for (let i = 0; i < length; i++) out[at + i] = value.charCodeAt(i);
  } else {
    textEncoder.encodeInto(value, out.subarray(at, at + length));
  }
  return at + length;
}

function commitSizeEstimate(mutations: Mutation[]): number {
  return mutations.reduce((n, m) => n + approximateBytes(m), 128);
}

function writeCommit(writer: ByteWriter, mutations: Mutation[]): void {
  writer.u32(mutations.length);
  for (const mutation of mutations) writeMutation(writer, mutation);
}

/** Roughly the encoded size (record bodies dominate), so the writer rarely grows. */
function approximateBytes(mutation: Mutation): number {
  if (mutation.kind !== 'append') return 256;
  let n = 256 + 3 * mutation.stream.length + 3 * (mutation.fencingToken?.length ?? 0);
  for (const r of mutation.records) {
    n += r.body.length + 32;
    for (const [name, value] of r.headers) n += name.length + value.length + 8;
  }
  return n;
}

function writeMutation(writer: ByteWriter, mutation: Mutation): void {
  switch (mutation.kind) {
    case 'basin.put':
      writer
        .u8(tagBasinPut)
        .string(mutation.basin)
        .string(JSON.stringify(persistBasinMeta(mutation.meta)));
      return;
    case 'basin.delete':
      writer.u8(tagBasinDelete).string(mutation.basin);
      return;
    case 'stream.put':
      writer.u8(tagStreamPut).string(mutation.stream).string(mutation.basin).string(mutation.name);
      writer.string(JSON.stringify(persistStreamMeta(mutation.meta)));
      return;
    case 'stream.delete':
      writer.u8(tagStreamDelete).string(mutation.stream);
      return;
    case 'append':
      writeAppend(writer.u8(tagAppend), mutation);
      return;
    case 'access-token.put':
      writer
        .u8(tagAccessTokenPut)
        .string(mutation.id)
        .string(JSON.stringify(persistAccessToken(mutation.meta)));
      return;
    case 'access-token.delete':
      writer.u8(tagAccessTokenDelete).string(mutation.id);
      return;
    case 'root-token.put':
      writer.u8(tagRootTokenPut).string(mutation.hash);
      return;
  }
}

function writeAppend(writer: ByteWriter, append: Append): void {
  assert(append.records.length > 0, 'an append carries at least one record');
  const first = append.records[0].seqNum;
  append.records.forEach((record, i) => assert(record.seqNum === first + i, 'append seq_nums are consecutive'));
  let flags = 0;
  if (append.fencingToken !== undefined) flags |= appendHasFencingToken;
  if (append.trimPoint !== undefined) flags |= appendHasTrimPoint;
  if (append.expiresAtMs !== null) flags |= appendHasExpiry;
  writer.string(append.stream).u64(append.tail.seqNum).u64Big(append.tail.timestamp).u8(flags);
  if (append.fencingToken !== undefined) writer.string(append.fencingToken);
  if (append.trimPoint !== undefined) writer.u64(append.trimPoint);
  writer.u64(append.writtenAtMs);
  if (append.expiresAtMs !== null) writer.u64(append.expiresAtMs);
  writer.u32(append.records.length).u64(first);
  for (const record of append.records) {
    writer.u64Big(record.timestamp);
    writeRecordPayload(writer, record);
  }
}

export function decodeCommit(reader: ByteReader): Mutation[] {
  const count = reader.count(1);
  const mutations: Mutation[] = [];
  for (let i = 0; i < count; i++) mutations.push(readMutation(reader));
  return mutations;
}

function readMutation(reader: ByteReader): Mutation {
  const tag = reader.u8();
  switch (tag) {
    case tagBasinPut: {
      const basin = reader.string();
      const meta = readBasinMeta(parseJson(reader.string(), 'commit: basin meta'), 'commit: basin meta');
      return { kind: 'basin.put', basin, meta };
    }
    case tagBasinDelete:
      return { kind: 'basin.delete', basin: reader.string() };
    case tagStreamPut: {
      const stream = reader.string();
      const basin = reader.string();
      const name = reader.string();
      const meta = readStreamMeta(parseJson(reader.string(), 'commit: stream meta'), 'commit: stream meta');
      return { kind: 'stream.put', stream, basin, name, meta };
    }
    case tagStreamDelete:
      return { kind: 'stream.delete', stream: reader.string() };
    case tagAppend:
      return readAppend(reader);
    case tagAccessTokenPut: {
      const id = reader.string();
      const meta = readAccessToken(parseJson(reader.string(), 'commit: access token'), 'commit: access token');
      return { kind: 'access-token.put', id, meta };
    }
    case tagAccessTokenDelete:
      return { kind: 'access-token.delete', id: reader.string() };
    case tagRootTokenPut:
      return { kind: 'root-token.put', hash: readTokenHash(reader.string(), 'commit: root token') };
    default:
      throw new CorruptDataError(`commit: unknown mutation tag ${tag}`);
  }
}

function readAppend(reader: ByteReader): Append {
  const stream = reader.string();
  const tail = { seqNum: reader.u64(), timestamp: reader.u64Big() };
  const flags = reader.u8();
  if ((flags & ~(appendHasFencingToken | appendHasTrimPoint | appendHasExpiry)) !== 0) {
    throw new CorruptDataError(`commit: unknown append flags ${flags}`);
  }
  const append: Append = { kind: 'append', stream, records: [], tail, writtenAtMs: 0, expiresAtMs: null };
  if (flags & appendHasFencingToken) append.fencingToken = reader.string();
  if (flags & appendHasTrimPoint) append.trimPoint = reader.u64();
  append.writtenAtMs = reader.u64();
  if (flags & appendHasExpiry) append.expiresAtMs = reader.u64();
  const count = reader.count(16);
  if (count === 0) throw new CorruptDataError('commit: append without records');
  const first = reader.u64();
  for (let i = 0; i < count; i++) {
    const timestamp = reader.u64Big();
    const record: SequencedRecord = { seqNum: first + i, timestamp, ...readRecordPayload(reader) };
    append.records.push(record);
  }
  return append;
}

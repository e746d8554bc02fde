/**
 * Sealing and opening one envelope record (docs/formats.md "Encrypted records", version 1).
 *
 * A sealed record is stored as a record whose single header is `("", "encrypted")` and whose
 * body is
 *
 *     version(1) = 1 ‖ algorithm(1) ‖ u32 LE plaintext metered size ‖ nonce ‖ ciphertext ‖ tag
 *
 * The plaintext is the record's headers and body: `u32 LE header count`, per header `u32 LE name
 * length ‖ name ‖ u32 LE value length ‖ value`, then the body (the rest). The associated data is
 * `version ‖ algorithm ‖ metered size ‖ stream id(32)`, so a record copied into another stream,
 * relabelled with another algorithm or given another metered size does not open. The record's
 * timestamp and seq_num are assigned after sealing (by the streamer) and are not bound.
 */
import { S2Error, errors } from '../../domain/errors.js';
import { isSealed, sealedMarker, sealedMeteredOffset } from '../../domain/sealed.js';
import { meteredBytes, type AppendRecord, type Header, type SequencedRecord } from '../../domain/types.js';
import type { SecureRandom } from '../../util/rand.js';
import { aeadById, type Aead } from './aead.js';

export const sealedFormatVersion = 1;
/** version, algorithm, metered size. */
const prefixBytes = sealedMeteredOffset + 4;
const emptyName = new Uint8Array(0);

/** What seals and opens records of one stream with one key. */
export interface SealContext {
  aead: Aead;
  key: Uint8Array;
  /** 32-byte stream id (stream-cipher.ts). */
  streamId: Uint8Array;
  random: SecureRandom;
}

function encodePlaintext(headers: Header[], body: Uint8Array): Uint8Array {
  let size = 4 + body.length;
  for (const [name, value] of headers) size += 8 + name.length + value.length;
  const out = Buffer.allocUnsafe(size);
  let o = out.writeUInt32LE(headers.length, 0);
  for (const [name, value] of headers) {
    o = out.writeUInt32LE(name.length, o);
    out.set(name, o);
    o = out.writeUInt32LE(value.length, o + name.length);
    out.set(value, o);
    o += value.length;
  }
  out.set(body, o);
  return out;
}

/** Undefined if the bytes are not a well-formed plaintext. */
function decodePlaintext(bytes: Uint8Array): { headers: Header[]; body: Uint8Array } | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4) return undefined;
  const count = buf.readUInt32LE(0);
  let o = 4;
  const headers: Header[] = [];
  for (let i = 0; i < count; i++) {
    if (o + 4 > buf.length) return undefined;
    const nameLength = buf.readUInt32LE(o);
    if (o + 4 + nameLength + 4 > buf.length) return undefined;
    const name = bytes.subarray(o + 4, o + 4 + nameLength);
    o += 4 + nameLength;
    const valueLength = buf.readUInt32LE(o);
    if (o + 4 + valueLength > buf.length) return undefined;
    headers.push([name, bytes.subarray(o + 4, o + 4 + valueLength)]);
    o += 4 + valueLength;
  }
  return { headers, body: bytes.subarray(o) };
}

function associatedData(version: number, aeadId: number, metered: number, streamId: Uint8Array): Uint8Array {
  const aad = Buffer.allocUnsafe(prefixBytes + streamId.length);
  aad[0] = version;
  aad[1] = aeadId;
  aad.writeUInt32LE(metered, sealedMeteredOffset);
  aad.set(streamId, prefixBytes);
  return aad;
}

/** Seals an envelope record (never a command: those stay plaintext, api.md 13). */
export function sealRecord(ctx: SealContext, record: AppendRecord): AppendRecord {
  const { aead } = ctx;
  const metered = meteredBytes(record);
  const plaintext = encodePlaintext(record.headers, record.body);
  const nonce = new Uint8Array(aead.nonceBytes);
  ctx.random(nonce);
  const aad = associatedData(sealedFormatVersion, aead.id, metered, ctx.streamId);
  const sealed = aead.seal(ctx.key, nonce, aad, plaintext);
  plaintext.fill(0);
  const body = Buffer.allocUnsafe(prefixBytes + nonce.length + sealed.length);
  body.set(aad.subarray(0, prefixBytes), 0);
  body.set(nonce, prefixBytes);
  body.set(sealed, prefixBytes + nonce.length);
  const out: AppendRecord = { headers: [[emptyName, sealedMarker]], body };
  if (record.timestamp !== undefined) out.timestamp = record.timestamp;
  return out;
}

function corrupt(record: SequencedRecord, what: string): S2Error {
  return errors.storage(`encrypted record at seq_num ${record.seqNum} ${what}`);
}

/**
 * The plaintext record of a stored one, on a stream whose cipher is `ctx.aead`. Commands pass
 * as they are. 400 `decryption_failed` if authentication fails (wrong key); 500 `storage` for a
 * plaintext envelope, another algorithm, a malformed body or a wrong metered size (api.md 13).
 */
export function openRecord(ctx: SealContext, record: SequencedRecord): SequencedRecord {
  const headers = record.headers;
  if (!isSealed(headers)) {
    if (headers.length === 1 && headers[0]![0].length === 0) return record; // fence or trim
    throw errors.storage(`unencrypted record at seq_num ${record.seqNum} on a stream with cipher '${ctx.aead.cipher}'`);
  }
  const body = record.body;
  if (body.length < prefixBytes) throw corrupt(record, 'is truncated');
  const version = body[0]!;
  if (version !== sealedFormatVersion) throw corrupt(record, `has unknown format version ${version}`);
  const found = aeadById(body[1]!);
  if (found !== ctx.aead) {
    throw corrupt(
      record,
      `uses ${found ? `'${found.cipher}'` : `unknown algorithm ${body[1]}`}, not the stream's '${ctx.aead.cipher}'`,
    );
  }
  const { aead } = ctx;
  if (body.length < prefixBytes + aead.nonceBytes + aead.tagBytes) throw corrupt(record, 'is truncated');
  const metered = Buffer.from(body.buffer, body.byteOffset, body.byteLength).readUInt32LE(sealedMeteredOffset);
  const nonce = body.subarray(prefixBytes, prefixBytes + aead.nonceBytes);
  const aad = associatedData(version, aead.id, metered, ctx.streamId);
  const plaintext = aead.open(ctx.key, nonce, aad, body.subarray(prefixBytes + aead.nonceBytes));
  if (plaintext === null) throw new S2Error('decryption_failed', 'record decryption failed');
  const decoded = decodePlaintext(plaintext);
  if (!decoded) throw corrupt(record, 'has a malformed plaintext');
  const opened = { seqNum: record.seqNum, timestamp: record.timestamp, headers: decoded.headers, body: decoded.body };
  if (meteredBytes(opened) !== metered) throw corrupt(record, 'has a wrong metered size');
  return opened;
}

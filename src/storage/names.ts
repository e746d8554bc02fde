/**
 * Object names (docs/formats.md "Object names"). Numbered objects use 20-digit zero-padded ids so
 * that the store's byte-order listing is numeric order.
 */
import { assert } from '../util/assert.js';
import type { Rand } from '../util/rand.js';
import type { StreamId } from './types.js';

export const chunkPrefix = 'chunk/';
export const manifestPrefix = 'manifest/';
export const segmentPrefix = 'segment/';
export const snapshotPrefix = 'snapshot/';
/** Empty markers naming the chunk ids of fence chunks, which GC never deletes (recovery.ts). */
export const fencePrefix = 'fence/';

export function pad20(id: number): string {
  assert(Number.isSafeInteger(id) && id >= 0, `object id out of range: ${id}`);
  return String(id).padStart(20, '0');
}

export function chunkKey(id: number): string {
  return chunkPrefix + pad20(id);
}

export function fenceKey(chunkId: number): string {
  return fencePrefix + pad20(chunkId);
}

export function manifestKey(id: number): string {
  return manifestPrefix + pad20(id);
}

/** Parses `<prefix><20 digits>`; anything else under the prefix is ignored by callers (null). */
export function parseNumberedKey(prefix: string, key: string): number | null {
  const rest = key.slice(prefix.length);
  if (!key.startsWith(prefix) || !/^\d{20}$/.test(rest)) return null;
  const id = Number(rest);
  return Number.isSafeInteger(id) ? id : null;
}

/**
 * Stream ids come from the engine; escape everything but [A-Za-z0-9_-] as %XX (UTF-8 bytes) so
 * an id can never form a path component such as `..` or contain `/`.
 */
export function escapeStreamId(stream: StreamId): string {
  let out = '';
  for (const byte of Buffer.from(stream, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(char) ? char : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function segmentStreamPrefix(stream: StreamId): string {
  return `${segmentPrefix}${escapeStreamId(stream)}/`;
}

export function randomSuffix(rand: Rand): string {
  let out = '';
  for (let i = 0; i < 4; i++)
    out += Math.floor(rand.next() * 0x10000)
      .toString(16)
      .padStart(4, '0');
  return out;
}

/** `segment/<escaped stream id>/<first seq 20d>-<epoch 20d>-<random>` */
export function segmentKey(stream: StreamId, firstSeqNum: number, epoch: number, rand: Rand): string {
  return `${segmentStreamPrefix(stream)}${pad20(firstSeqNum)}-${pad20(epoch)}-${randomSuffix(rand)}`;
}

/** The writer epoch embedded in a segment or snapshot key, or null if the key is not ours. */
export function epochOfKey(key: string): number | null {
  const match = /-(\d{20})-[0-9a-f]{16}$/.exec(key);
  return match ? Number(match[1]) : null;
}

/** `snapshot/<manifest id 20d>-<epoch 20d>-<random>` */
export function snapshotKey(manifestId: number, epoch: number, rand: Rand): string {
  return `${snapshotPrefix}${pad20(manifestId)}-${pad20(epoch)}-${randomSuffix(rand)}`;
}

/** A fresh put-id: unique per write attempt sequence, so a HEAD can tell our object from another's. */
export function newPutId(epoch: number, rand: Rand): string {
  return `${epoch}-${randomSuffix(rand)}${randomSuffix(rand)}`;
}

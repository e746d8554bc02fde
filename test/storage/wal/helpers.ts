/**
 * Fixtures for the write-ahead log tests: temp directories, a writer with small files, and a
 * recovery that collects every frame (bodies copied).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Wal, WalRecovery, type WalOptions } from '../../../src/storage/wal/index.js';

const dirs: string[] = [];

export async function tempDir(prefix = 's2-wal-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
}

/** Small files and frames, so that tests rotate and recycle quickly. */
export const small = { fileBytes: 16 * 1024, frameBytesMax: 2048, ringBytes: 16 * 1024 } satisfies Partial<WalOptions>;

export interface Recovered {
  frames: { chunkId: number; epoch: number; opening: boolean; body: Buffer; file: string; offset: number }[];
  recovery: WalRecovery;
}

export async function recoverAll(dir: string, afterChunkId = 0): Promise<Recovered> {
  const recovery = await WalRecovery.open(dir, afterChunkId);
  const frames: Recovered['frames'] = [];
  for await (const frame of recovery.frames()) frames.push({ ...frame, body: Buffer.from(frame.body) });
  return { frames, recovery };
}

/** Recovers `dir` and starts a writer with the next epoch. */
export async function openWriter(dir: string, options: Partial<WalOptions> = {}, afterChunkId = 0) {
  const recovered = await recoverAll(dir, afterChunkId);
  const wal = await Wal.start(recovered.recovery, { ...small, epoch: recovered.recovery.lastEpoch + 1, ...options });
  return { wal, ...recovered };
}

/** A deterministic body for chunk `id`: its length and bytes depend on the id only. */
export function bodyFor(id: number, maxBytes = 300): Buffer {
  const length = (id * 37) % maxBytes;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (id * 131 + i * 7) & 0xff;
  return out;
}

/** Appends chunks `count` times, one after the other (each its own sync). */
export async function appendSequentially(wal: Wal, count: number, bodies = bodyFor): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = wal.nextChunkId;
    await wal.append(id, bodies(id));
    ids.push(id);
  }
  return ids;
}

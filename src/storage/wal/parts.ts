/**
 * The pieces a write-ahead log frame body is assembled from (wal.ts `append`), and where in the
 * ring a frame goes so that its largest piece is copied fast.
 */
import { frameAlign, frameHeaderBytes } from './format.js';

/**
 * A piece of a frame body: bytes to copy, or something that writes exactly `length` bytes into the
 * region it is given (the chunk writer's commits: their records go from the request straight into
 * the ring, docs/architecture.md). It must not throw; the caller checked everything beforehand.
 */
export type FramePart =
  | Uint8Array
  | { readonly length: number; writeTo(target: Uint8Array): void; readonly align?: BodyAlignment };

/**
 * Where a part would like its largest piece (`bytes` long, at offset `at` in the part) to land:
 * at a ring address congruent to `mod` mod 8, that of its source. Copies into shared memory
 * between addresses that differ mod 8 go byte by byte in V8, about 4.5x slower; the log shifts
 * the frame in the ring to honour the largest such wish (the file layout does not change).
 */
export interface BodyAlignment {
  at: number;
  mod: number;
  bytes: number;
}

/** The alignment wish of the part with the largest body, as an offset in the frame (header included). */
export function alignmentOf(parts: readonly FramePart[]): BodyAlignment | undefined {
  let best: BodyAlignment | undefined;
  let offset = frameHeaderBytes;
  for (const part of parts) {
    const align = part instanceof Uint8Array ? undefined : part.align;
    if (align && (!best || align.bytes > best.bytes)) best = { ...align, at: offset + align.at };
    offset += part.length;
  }
  return best;
}

/** How far past `frameAt` (ring offset of the frame) to start it so the wished body is aligned. */
export function alignedStart(frameAt: number, align: BodyAlignment): number {
  return (((align.mod - frameAt - align.at) % frameAlign) + frameAlign) % frameAlign;
}

/** Bytes reserved beyond a frame that may be shifted (`alignedStart` is below it). */
export const alignSlack = frameAlign - 1;

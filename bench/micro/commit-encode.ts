/**
 * CPU cost of getting a commit's bytes into the write-ahead log's ring, as the write path does it
 * (`appendCommit` sized at submit, written into the ring when sealed), and, given `--base DIR`
 * (another checkout of this repo), as that checkout's `encodeCommitIn` into a slab followed by the
 * copy into the ring. Timed as the best of several rounds (the least disturbed by other load).
 *
 *   node --import tsx bench/micro/commit-encode.ts [--base DIR]
 *
 * Not a test: compare the two in the same run.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Slab } from '../../src/storage/binary.js';
import { appendCommit } from '../../src/storage/codec-mutation.js';
import type { Append, Mutation } from '../../src/storage/types.js';

const { values: a } = parseArgs({ options: { base: { type: 'string' } } });

type Encode = (ring: Uint8Array, at: number, mutations: Mutation[]) => number;

/** Record bodies as a protobuf request's are: views of one buffer, a few bytes apart. */
function shape(records: number, bytes: number): () => Mutation[] {
  const gap = bytes < 16_384 ? 6 : 8;
  const request = Buffer.alloc(records * (bytes + gap) + 3, 7);
  let seq = 1_000_000;
  return () => {
    const first = seq;
    seq += records;
    const append: Append = {
      kind: 'append',
      stream: 'e3b0c44298fc1c149afbf4c8996fb924',
      records: Array.from({ length: records }, (_, i) => ({
        seqNum: first + i,
        timestamp: BigInt(Date.now()),
        headers: [],
        body: request.subarray(3 + i * (bytes + gap), 3 + i * (bytes + gap) + bytes),
      })),
      tail: { seqNum: first + records, timestamp: BigInt(Date.now()) },
      writtenAtMs: Date.now(),
      expiresAtMs: null,
    };
    return [append];
  };
}

/** As the log does: the frame shifted in the ring so the largest body lands aligned with its source. */
const inPlace: Encode = (ring, at, mutations) => {
  const commit = appendCommit(mutations)!;
  const shift = commit.align ? (((commit.align.mod - at - commit.align.at) % 8) + 8) % 8 : 0;
  commit.writeTo(ring.subarray(at + shift, at + shift + commit.length));
  return commit.length + shift;
};

async function viaSlab(dir: string): Promise<Encode> {
  const url = pathToFileURL(path.resolve(dir, 'src/storage/codec-mutation.ts')).href;
  const binaryUrl = pathToFileURL(path.resolve(dir, 'src/storage/binary.ts')).href;
  const { encodeCommitIn } = (await import(url)) as { encodeCommitIn(s: unknown, m: Mutation[]): Uint8Array };
  const { Slab: BaseSlab } = (await import(binaryUrl)) as { Slab: new () => Slab };
  const slab = new BaseSlab();
  return (ring, at, mutations) => {
    const bytes = encodeCommitIn(slab, mutations);
    ring.set(bytes, at);
    return bytes.length;
  };
}

/** One ring for every round, touched once up front: the log's ring is reused for its life. */
const ring = new Uint8Array(new SharedArrayBuffer(32 * 1024 * 1024)).fill(1);

function time(encode: Encode, make: () => Mutation[], commits: number): number {
  const batches = Array.from({ length: commits }, make);
  let at = 0;
  const start = process.hrtime.bigint();
  for (const mutations of batches) {
    if (at > ring.length - 2 * 1024 * 1024) at = 0;
    at += encode(ring, at, mutations);
  }
  return Number(process.hrtime.bigint() - start) / 1000 / commits;
}

const shapes = [
  { name: '1 x 1 KiB', make: shape(1, 1024), commits: 20_000 },
  { name: '100 x 1 KiB', make: shape(100, 1024), commits: 2_000 },
  { name: '15 x 64 KiB', make: shape(15, 64 * 1024), commits: 200 },
];
const encoders: [string, Encode][] = [['in place', inPlace]];
if (a.base) encoders.push([`slab + copy (${a.base})`, await viaSlab(a.base)]);
for (const { name, make, commits } of shapes) {
  for (const [label, encode] of encoders) {
    const rounds = Array.from({ length: 7 }, () => time(encode, make, commits));
    console.log(`${name}: ${label}: best ${Math.min(...rounds).toFixed(2)} us per commit`);
  }
}

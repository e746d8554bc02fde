/**
 * Per-message compression of S2S frames (api.md 9.3): zstd or gzip, chosen per frame by flag bits.
 *
 * Everything is synchronous: payloads are at most 2 MiB and (de)compressing them in-line is cheaper than a thread-pool
 * round trip. Decompression is bounded by the caller's limit so a small "zip bomb" frame cannot make the server
 * allocate more than one maximal payload: gzip through zlib's `maxOutputLength` (aborts as soon as the output would
 * exceed it), zstd by refusing a declared content size above the limit and otherwise streaming into a buffer of
 * limit + 1 bytes.
 */
import zlib from 'node:zlib';
import zstd from 'zstd-napi';
import zstdBinding from 'zstd-napi/binding.js';
import { S2Error, errors } from '../../domain/errors.js';

export type Compression = 'none' | 'zstd' | 'gzip';

/** Library defaults (zstd 3, gzip 6): good ratios at well under 10 ms per MiB. */
const zstdLevel = 3;
const gzipLevel = zlib.constants.Z_DEFAULT_COMPRESSION;

export function compress(payload: Uint8Array, algorithm: 'zstd' | 'gzip'): Uint8Array {
  if (algorithm === 'zstd') return zstd.compress(payload, { compressionLevel: zstdLevel });
  return zlib.gzipSync(payload, { level: gzipLevel });
}

function tooLarge(maxBytes: number): never {
  throw errors.badFrame(`decompressed payload exceeds ${maxBytes} bytes`);
}

/** Decompresses one frame payload, refusing output larger than `maxBytes`. Errors are `bad_frame`. */
export function decompressBounded(payload: Uint8Array, algorithm: 'zstd' | 'gzip', maxBytes: number): Uint8Array {
  if (algorithm === 'gzip') {
    try {
      return zlib.gunzipSync(payload, { maxOutputLength: maxBytes });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') tooLarge(maxBytes);
      throw errors.badFrame(`gzip decompression failed: ${(e as Error).message}`);
    }
  }
  return zstdDecompressBounded(payload, maxBytes);
}

const dctx = new zstdBinding.DCtx();
/** Output buffer of the streaming path (limit + 1 bytes, to detect overflow); grown on demand, reused. */
let scratch: Buffer = Buffer.alloc(0);

function zstdDecompressBounded(src: Uint8Array, maxBytes: number): Uint8Array {
  try {
    // Fast path: a single frame that declares its content size (what one-shot compressors, including ours, emit).
    const declared = zstdBinding.getFrameContentSize(src);
    if (declared !== null && zstdBinding.findFrameCompressedSize(src) === src.length) {
      if (declared > maxBytes) tooLarge(maxBytes);
      const out = Buffer.allocUnsafe(declared);
      // Fails (dstSize_tooSmall) if the frame holds more than it declared.
      if (dctx.decompress(out, src) !== declared) throw errors.badFrame('zstd frame content size mismatch');
      return out;
    }
    return zstdStream(src, maxBytes);
  } catch (e) {
    if (e instanceof S2Error) throw e;
    throw errors.badFrame(`zstd decompression failed: ${(e as Error).message}`);
  }
}

/** Streaming decompression (unknown sizes, several frames) into `scratch`, stopping past `maxBytes`. */
function zstdStream(src: Uint8Array, maxBytes: number): Uint8Array {
  if (scratch.length < maxBytes + 1) scratch = Buffer.allocUnsafe(maxBytes + 1);
  const out = scratch.subarray(0, maxBytes + 1);
  dctx.reset(zstdBinding.ResetDirective.sessionOnly);
  let produced = 0;
  let consumed = 0;
  for (;;) {
    const [remaining, dstProduced, srcConsumed] = dctx.decompressStream(out.subarray(produced), src.subarray(consumed));
    produced += dstProduced;
    consumed += srcConsumed;
    if (produced > maxBytes) tooLarge(maxBytes);
    if (consumed === src.length) {
      if (remaining === 0) break; // the last frame is complete and flushed
      if (dstProduced === 0 && srcConsumed === 0) throw errors.badFrame('truncated zstd frame');
    }
  }
  return Buffer.from(out.subarray(0, produced)); // copy: `scratch` is reused
}

/**
 * Chooses server-to-client compression from `Accept-Encoding` (api.md 9.3): every header instance, tokens split on
 * `,`, parameters after `;` (q-values included) ignored; zstd preferred over gzip, else none.
 */
export function negotiateCompression(acceptEncoding: string[] | string | undefined): Compression {
  if (acceptEncoding === undefined) return 'none';
  const values = typeof acceptEncoding === 'string' ? [acceptEncoding] : acceptEncoding;
  let gzip = false;
  for (const value of values) {
    for (const token of value.split(',')) {
      const semi = token.indexOf(';');
      const coding = (semi < 0 ? token : token.slice(0, semi)).trim().toLowerCase();
      if (coding === 'zstd') return 'zstd';
      if (coding === 'gzip') gzip = true;
    }
  }
  return gzip ? 'gzip' : 'none';
}

/**
 * `/v1/streams/{stream}/records` routes (api.md 3.13-3.15): unary append, unary read and
 * check-tail, in JSON (with `S2-Format`) or protobuf. Handlers only extract and encode; the
 * semantics live in the engine (append: engine/append.ts, reads: engine/read-session.ts).
 *
 * SSE reads (`Accept: text/event-stream`) and S2S sessions (`Content-Type: s2s/proto`) are
 * dispatched to ./sessions.ts once the request's other input was validated.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { errors } from '../../domain/errors.js';
import type { Engine } from '../../engine/engine.js';
import type { ReadRequest, ReadStart, UnaryRead } from '../../engine/read-session.js';
import { countRead } from './read-metrics.js';
import type { AppendAck, AppendInput, StreamConfigLayer } from '../../domain/types.js';
import type { AppendOptions } from '../../engine/append.js';
import { readBatchBytesMax, readBatchRecordsMax, unaryReadWaitSecsMax } from '../../limits.js';
import { parseJson } from '../../util/json.js';
import { parseStreamConfigLayer } from '../codec/config-json.js';
import { decodeAppendInputJsonSliced } from '../codec/json-append.js';
import { encodeAppendAckJson, encodeReadBatchJson, encodeTailJson, parseFormatHeader } from '../codec/json-records.js';
import { decodeAppendInput, encodeAppendAck } from '../codec/proto.js';
import { catchUpBuffers } from '../codec/out-buffers.js';
import { encodeReadBatchList } from '../codec/proto-stored.js';
import type { RequestContext } from '../http.js';
import { Query } from '../query.js';
import type { Router } from '../router.js';
import { accessOf } from '../auth/request.js';
import { basinHeader, streamParam } from './common.js';
import { streamingSessions } from './sessions.js';
import { encryptionKeyHeader, withEncryptionKey } from './encryption-key.js';
import type { EncryptionKey } from '../../engine/encryption/key.js';
import { paths } from '../paths.js';

const u32Max = 0xffff_ffffn;

/**
 * A unary protobuf read, assembled in a reused buffer (out-buffers.ts) given back once the response
 * finished (HTTP/1.1: its last bytes reached the kernel). HTTP/2 responses get fresh memory: their
 * 'finish' is not tied to nghttp2 being done with the bytes.
 */
function sendProtobufPage(ctx: RequestContext, batch: UnaryRead): void {
  const http1 = !('stream' in ctx.res);
  const body = encodeReadBatchList(batch.list, batch.tail, 0, http1 ? catchUpBuffers.take : undefined);
  // The records are copied into the body: their blocks' memory may be reused (storage/block-pool.ts).
  batch.list.release();
  if (http1) ctx.res.once('finish', () => catchUpBuffers.give(body));
  ctx.send(200, body, { 'content-type': 'application/protobuf' });
}

/** Response type from the first media type of `Accept` (api.md 1.7): protobuf if asked, else JSON. */
function wantsProtobuf(ctx: RequestContext): boolean {
  const accept = ctx.mediaType('accept');
  return accept === 'application/protobuf' || accept === 'application/x-protobuf';
}

function isS2sRequest(ctx: RequestContext): boolean {
  return ctx.mediaType('content-type') === 's2s/proto';
}

/** `s2-stream-config` (api.md 7.6 item 4): JSON StreamConfig used only if this request creates the stream. */
function streamConfigHeader(ctx: RequestContext): StreamConfigLayer | undefined {
  const value = ctx.header('s2-stream-config');
  if (value === undefined) return undefined;
  try {
    return parseStreamConfigLayer(parseJson(value), 's2-stream-config');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw errors.invalidHeader('s2-stream-config', reason);
  }
}

/** A JSON append body (see `appendUnary` for protobuf). */
async function jsonAppendInput(ctx: RequestContext): Promise<AppendInput> {
  // Anything that is neither protobuf nor S2S is treated as JSON and must say so (api.md 3.15).
  if (!ctx.isJsonContentType()) throw errors.badJson('Expected request with `Content-Type: application/json`');
  const format = parseFormatHeader(ctx.header('s2-format'));
  const body = await ctx.body(errors.badJson);
  // Validate with simdutf, then decode: TextDecoder's fatal mode was ~8% of server CPU on 100 KiB
  // bodies. Bodies in base64 are pure ASCII, which latin1 turns into a string in one copy.
  // Decoded in slices of the event loop: the worst shapes of a 2 MiB body cost what their records cost.
  if (isAscii(body)) return decodeAppendInputJsonSliced(body.toString('latin1'), format);
  if (!isUtf8(body)) throw errors.badJson('Failed to parse the request body as JSON: invalid UTF-8');
  return decodeAppendInputJsonSliced(body.toString('utf8'), format);
}

/** A unary append (api.md 3.15): body, authorization of what it writes, then the engine. */
async function appendUnary(
  ctx: RequestContext,
  engine: Engine,
  basin: string,
  stream: string,
  streamConfig: StreamConfigLayer | undefined,
  encryptionKey: EncryptionKey | undefined,
): Promise<AppendAck> {
  // Protobuf inline: an async function less per append (its frame and promise, heap sampling of W4).
  const input = ctx.isProtobufContentType()
    ? decodeAppendInput(await ctx.body(errors.badProto))
    : await jsonAppendInput(ctx);
  accessOf(ctx).appendInput(input);
  // Built field by field: object spreads per request were garbage for the collector (issue 14, W1).
  const options: AppendOptions = { signal: ctx.closeSignal() };
  if (streamConfig) options.streamConfig = streamConfig;
  if (encryptionKey) options.encryptionKey = encryptionKey;
  // Awaited: an async function returning a bare promise adopts it in two more microtask turns.
  return await engine.append(basin, stream, input, options);
}

/** Query of a read (api.md 3.14); type errors are 400 bad_query, conflicting starts 422. */
function readQuery(ctx: RequestContext): ReadRequest {
  const query = new Query(ctx.query);
  const seqNum = query.number('seq_num');
  const timestamp = query.bigint('timestamp');
  const tailOffset = query.number('tail_offset');
  const clamp = query.bool('clamp');
  const count = query.number('count');
  const bytes = query.number('bytes');
  const until = query.bigint('until');
  const wait = query.number('wait', u32Max);
  const given = [seqNum, timestamp, tailOffset].filter((v) => v !== undefined).length;
  if (given > 1) throw errors.invalid('only one of seq_num, timestamp, or tail_offset can be provided');
  let start: ReadStart | undefined;
  if (seqNum !== undefined) start = { seqNum };
  else if (timestamp !== undefined) start = { timestamp };
  else if (tailOffset !== undefined) start = { tailOffset };
  const request: ReadRequest = { clamp: clamp ?? false };
  if (start) request.start = start;
  if (count !== undefined) request.count = count;
  if (bytes !== undefined) request.bytes = bytes;
  if (until !== undefined) request.until = until;
  if (wait !== undefined) request.waitSecs = wait;
  return request;
}

export function registerRecordRoutes(router: Router, engine: Engine): void {
  const sessions = streamingSessions(engine);
  router.add('GET', paths.tail, async (ctx) => {
    const basin = basinHeader(ctx);
    const stream = streamParam(ctx);
    const streamConfig = streamConfigHeader(ctx);
    const tail = await engine.checkTail(basin, stream, streamConfig ? { streamConfig } : {});
    ctx.sendJson(200, encodeTailJson(tail));
  });

  router.add('GET', paths.records, async (ctx) => {
    const basin = basinHeader(ctx);
    const stream = streamParam(ctx);
    const request = readQuery(ctx);
    const streamConfig = streamConfigHeader(ctx);
    const encryptionKey = encryptionKeyHeader(ctx);
    // Content-Type s2s/proto wins over Accept; SSE only if it is the first Accept entry (api.md 2).
    const target = {
      basin,
      stream,
      ...(streamConfig ? { streamConfig } : {}),
      ...(encryptionKey ? { encryptionKey } : {}),
    };
    if (isS2sRequest(ctx)) return sessions.readS2S(ctx, target, request);
    if (ctx.mediaType('accept') === 'text/event-stream') return sessions.readSse(ctx, target, request);
    const protobuf = wantsProtobuf(ctx);
    // Unary caps (api.md 8.5): always bounded, so it follows only with an explicit wait.
    request.count = Math.min(request.count ?? readBatchRecordsMax, readBatchRecordsMax);
    request.bytes = Math.min(request.bytes ?? readBatchBytesMax, readBatchBytesMax);
    if (request.waitSecs !== undefined) request.waitSecs = Math.min(request.waitSecs, unaryReadWaitSecsMax);
    const { batch, format } = await withEncryptionKey(encryptionKey, async (keyed) => {
      // Parsed inside the wrapper: a request refused for a bad S2-Format still wipes its key.
      const format = protobuf ? 'raw' : parseFormatHeader(ctx.header('s2-format'));
      const batch = await engine.read(basin, stream, request, {
        signal: ctx.closeSignal(),
        ...(streamConfig ? { streamConfig } : {}),
        ...keyed,
      });
      return { batch, format };
    });
    countRead(protobuf ? 'unary_proto' : 'unary_json', batch.list);
    if (protobuf) sendProtobufPage(ctx, batch);
    else ctx.sendJson(200, encodeReadBatchJson(batch, format));
  });

  router.add('POST', paths.records, async (ctx) => {
    const basin = basinHeader(ctx);
    const stream = streamParam(ctx);
    const streamConfig = streamConfigHeader(ctx);
    const encryptionKey = encryptionKeyHeader(ctx);
    if (isS2sRequest(ctx)) {
      return sessions.append(ctx, {
        basin,
        stream,
        ...(streamConfig ? { streamConfig } : {}),
        ...(encryptionKey ? { encryptionKey } : {}),
      });
    }
    // Without a key (the common case) no wrapper to wipe it, nor a closure: fewer promises per append.
    const ack = encryptionKey
      ? await withEncryptionKey(encryptionKey, (keyed) =>
          appendUnary(ctx, engine, basin, stream, streamConfig, keyed.encryptionKey),
        )
      : await appendUnary(ctx, engine, basin, stream, streamConfig, undefined);
    if (wantsProtobuf(ctx)) ctx.send(200, encodeAppendAck(ack), { 'content-type': 'application/protobuf' });
    else ctx.sendJson(200, encodeAppendAckJson(ack));
  });
}

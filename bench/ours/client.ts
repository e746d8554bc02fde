/**
 * Our server through its REST API, with plain HTTP/1.1 keep-alive (no SDK), so the request shapes
 * match the HTTP peers': unary appends (`POST .../records`), an SSE live read session, and catch-up
 * by unary pages of up to 1000 records. Appends, catch-up pages and the live reader use the API's
 * binary formats (`application/protobuf`, api.md 1.7; an S2S read session, api.md 9), as Redis and
 * NATS clients use their binary protocols. The SSE reader (JSON, bodies in `s2-format: base64`)
 * remains for servers without S2S.
 */
import http from 'node:http';
import { decodeAppendAck, decodeReadBatch, encodeAppendInput } from '../../src/api/codec/proto-client.js';
import { encodeRegularFrame, parseTerminalPayload } from '../../src/api/s2s/frame.js';
import { FrameReader } from '../../src/api/s2s/reader.js';
import { agent, openEventStream, request, requestOk } from '../lib/http.js';
import { sleep } from '../lib/procs.js';
import { nowNs } from '../lib/stats.js';
import type { Adapter, LiveMode, OnRecord, Subscription, Writer } from '../lib/types.js';
import { S2SRecordReader } from './s2s-records.js';

interface JsonRecord {
  seq_num: number;
  body?: string;
}

/** Decoded length of a padded base64 string, without decoding it. */
function b64Length(s: string): number {
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return (s.length / 4) * 3 - pad;
}

/** Hands each record to `onRecord`, decoding only the first 12 base64 chars (9 bytes: the timestamp). */
function deliver(records: JsonRecord[], onRecord: OnRecord, t: number): number {
  let last = -1;
  for (const r of records) {
    const body = r.body ?? '';
    onRecord(Buffer.from(body.slice(0, 12), 'base64'), b64Length(body), t);
    last = r.seq_num;
  }
  return last;
}

/** A fed response: when its last chunk arrived (records decoded from it carry that time), its first failure. */
interface FeedState {
  t: number;
  failure?: Error;
}

/**
 * Feeds a response's chunks to `reader` as they arrive, then `done` with the first failure (of the
 * decoding, of the response, or one a callback of the reader set in `state`), if any.
 */
function feed(
  req: http.ClientRequest,
  res: http.IncomingMessage,
  reader: S2SRecordReader,
  state: FeedState,
  done: (failure: Error | undefined) => void,
): void {
  res.on('data', (chunk: Buffer) => {
    state.t = nowNs();
    try {
      reader.push(chunk);
    } catch (e) {
      state.failure ??= e as Error;
      req.destroy();
    }
  });
  res.on('end', () => {
    try {
      reader.end();
    } catch (e) {
      state.failure ??= e as Error;
    }
    done(state.failure);
  });
  res.on('error', (e) => done(state.failure ?? e));
}

/**
 * One unary append in `application/protobuf`: the request every unary writer sends. The trivial
 * node:http ceiling (bench/peers/node-http-trivial.ts) is driven through this same function.
 */
export async function postAppend(
  pool: http.Agent,
  port: number,
  path: string,
  headers: http.OutgoingHttpHeaders,
  records: Buffer[],
): Promise<void> {
  const body = encodeAppendInput({ records: records.map((b) => ({ headers: [], body: b })) });
  await requestOk(pool, port, 'POST', path, Buffer.from(body.buffer, body.byteOffset, body.length), headers);
}

export async function createBasin(baseUrl: string, basin: string, cipher?: string): Promise<void> {
  const port = Number(new URL(baseUrl).port);
  const res = await request(
    undefined,
    port,
    'POST',
    '/v1/basins',
    JSON.stringify({ basin, config: { create_stream_on_append: true, ...(cipher ? { stream_cipher: cipher } : {}) } }),
    { 'content-type': 'application/json' },
  );
  if (res.status !== 201 && res.status !== 200 && res.status !== 409) {
    throw new Error(`create basin: HTTP ${res.status} ${res.body.toString('utf8', 0, 200)}`);
  }
}

export async function openS2Lite(
  baseUrl: string,
  basin: string,
  live: LiveMode = 's2s',
  encryptionKey?: string,
): Promise<Adapter> {
  const port = Number(new URL(baseUrl).port);
  // Every data-plane request names the basin, and the key on a basin whose streams have a cipher.
  const target = { 's2-basin': basin, ...(encryptionKey ? { 's2-encryption-key': encryptionKey } : {}) };
  const control = agent(4);
  const pools = new Set<ReturnType<typeof agent>>();
  let shared: ReturnType<typeof agent> | undefined;
  const headers = { ...target, 's2-format': 'base64' };
  const json = { ...headers, 'content-type': 'application/json' };
  const recordsPath = (stream: string) => `/v1/streams/${encodeURIComponent(stream)}/records`;

  const proto = { ...target, 'content-type': 'application/protobuf', accept: 'application/protobuf' };
  /**
   * One catch-up page in protobuf, its records decoded as its chunks arrive (s2s-records.ts);
   * returns the next seq_num (or -1 for an empty page).
   */
  const readPage = (stream: string, seq: number, onRecord: OnRecord): Promise<number> =>
    new Promise((resolve, reject) => {
      const path = `${recordsPath(stream)}?seq_num=${seq}&count=1000`;
      const req = http.request(
        { host: '127.0.0.1', port, method: 'GET', path, agent: control, headers: proto },
        (res) => {
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const body = Buffer.concat(chunks).toString('utf8', 0, 200);
              reject(new Error(`GET ${path}: HTTP ${res.statusCode} ${body}`));
            });
            return;
          }
          let next = -1;
          const state: FeedState = { t: 0 };
          const reader = new S2SRecordReader(
            {
              records: (records) => {
                for (const r of records) onRecord(r.body, r.body.length, state.t);
                next = records[records.length - 1]!.seqNum + 1;
              },
              terminal: () => {},
            },
            false,
          );
          feed(req, res, reader, state, (failure) => (failure ? reject(failure) : resolve(next)));
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error(`GET ${path}: no response in 60 s`)));
      req.on('error', reject);
      req.end();
    });

  const tailOf = async (stream: string) => {
    const res = await requestOk(control, port, 'GET', `${recordsPath(stream)}/tail`, undefined, headers);
    return (JSON.parse(res.body.toString('utf8')) as { tail: { seq_num: number } }).tail.seq_num;
  };

  /**
   * Catch-up through one S2S read session: from seq 0 with `count` = the tail and no `wait`, so the
   * server streams stored batches back to back and ends the response at the tail (api.md 8.2, 8.6).
   */
  const catchupS2s = (stream: string, count: number, onRecord: OnRecord): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port,
          path: `${recordsPath(stream)}?seq_num=0&count=${count}`,
          headers: { ...target, 'content-type': 's2s/proto' },
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`S2S catch-up read session: HTTP ${res.statusCode}`));
            return;
          }
          const state: FeedState = { t: 0 };
          // Records decoded where they lie in each chunk (see s2s-records.ts), not frame by frame.
          const reader = new S2SRecordReader({
            records: (records) => {
              for (const r of records) onRecord(r.body, r.body.length, state.t);
            },
            terminal: (status, body) => {
              state.failure ??= new Error(`S2S terminal frame ${status}: ${body.slice(0, 200)}`);
            },
          });
          feed(req, res, reader, state, (failure) => (failure ? reject(failure) : resolve()));
        },
      );
      req.on('error', reject);
    });

  /** An SSE read session from seq 0 with no limits: it follows the tail (api.md, read sessions). */
  const followSse = async (stream: string, onRecord: OnRecord): Promise<Subscription> => {
    let failure: Error | undefined;
    const es = await openEventStream(
      port,
      `${recordsPath(stream)}?seq_num=0`,
      headers,
      (event, data, t) => {
        if (event === 'batch' && data)
          deliver((JSON.parse(data) as { records: JsonRecord[] }).records ?? [], onRecord, t);
        else if (event === 'error') failure = new Error(`SSE error event: ${data.slice(0, 200)}`);
      },
      nowNs,
    );
    if (!es.contentType.startsWith('text/event-stream')) {
      es.close();
      throw new Error(`live read: expected text/event-stream, got ${es.contentType || 'no content-type'}`);
    }
    return {
      async close() {
        es.close();
        if (failure) throw failure;
      },
    };
  };

  /** An S2S read session from seq 0 with no limits over HTTP/1.1: frames of protobuf ReadBatches. */
  const followS2s = (stream: string, onRecord: OnRecord): Promise<Subscription> =>
    new Promise((resolve, reject) => {
      let failure: Error | undefined;
      const req = http.get(
        {
          host: '127.0.0.1',
          port,
          path: `${recordsPath(stream)}?seq_num=0`,
          headers: { ...target, 'content-type': 's2s/proto' },
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`S2S read session: HTTP ${res.statusCode}`));
            return;
          }
          const frames = new FrameReader();
          res.on('data', (chunk: Buffer) => {
            const t = nowNs();
            try {
              for (const frame of frames.push(chunk)) {
                if (frame.terminal) {
                  const { status, body } = parseTerminalPayload(frame.payload);
                  failure ??= new Error(`S2S terminal frame ${status}: ${body.slice(0, 200)}`);
                  continue;
                }
                for (const r of decodeReadBatch(frame.payload).records) onRecord(r.body, r.body.length, t);
              }
            } catch (e) {
              failure ??= e as Error;
              req.destroy();
            }
          });
          res.on('error', () => {});
          resolve({
            async close() {
              req.destroy();
              if (failure) throw failure;
            },
          });
        },
      );
      req.on('error', reject);
    });

  /**
   * One S2S append session (api.md 7.4) over full-duplex HTTP/1.1: each `send` is one input frame,
   * acks come back in order, one per input, so the oldest pending send is resolved per ack.
   */
  const appendSession = (stream: string): Promise<Writer> =>
    new Promise((resolve, reject) => {
      const pending: { resolve(): void; reject(e: Error): void }[] = [];
      let failure: Error | undefined;
      const failAll = (e: Error) => {
        failure ??= e;
        for (const p of pending.splice(0)) p.reject(failure);
      };
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: recordsPath(stream),
        headers: { ...target, 'content-type': 's2s/proto', 'transfer-encoding': 'chunked' },
      });
      req.flushHeaders();
      req.on('error', (e) => {
        failAll(e);
        reject(e);
      });
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          failAll(new Error(`S2S append session: HTTP ${res.statusCode}`));
          return;
        }
        const frames = new FrameReader();
        res.on('data', (chunk: Buffer) => {
          try {
            for (const frame of frames.push(chunk)) {
              if (frame.terminal) {
                const { status, body } = parseTerminalPayload(frame.payload);
                failAll(new Error(`S2S terminal frame ${status}: ${body.slice(0, 200)}`));
                continue;
              }
              decodeAppendAck(frame.payload);
              pending.shift()?.resolve();
            }
          } catch (e) {
            failAll(e as Error);
          }
        });
        res.on('end', () => failAll(new Error('S2S append session ended')));
      });
      resolve({
        send(records) {
          if (failure) return Promise.reject(failure);
          const input = encodeAppendInput({ records: records.map((b) => ({ headers: [], body: b })) });
          return new Promise<void>((ok, fail) => {
            pending.push({ resolve: ok, reject: fail });
            req.write(encodeRegularFrame(input, 'none'));
          });
        },
        async close() {
          req.end();
          req.destroy();
        },
      });
    });

  /** Unary reads with `wait` (long-poll): the fallback live reader while SSE sessions are unavailable. */
  const followPoll = async (stream: string, onRecord: OnRecord): Promise<Subscription> => {
    const own = agent(1);
    let closed = false;
    let next = 0;
    let failure: Error | undefined;
    const loop = (async () => {
      while (!closed) {
        const q = `seq_num=${next}&count=1000&wait=5`;
        const res = await request(own, port, 'GET', `${recordsPath(stream)}?${q}`, undefined, headers).catch(
          (e: Error) => {
            if (!closed) failure ??= e;
            return undefined;
          },
        );
        if (closed || !res) break;
        if (res.status !== 200) {
          failure ??= new Error(`long-poll read: HTTP ${res.status} ${res.body.toString('utf8', 0, 200)}`);
          break;
        }
        const t = nowNs();
        const records = (JSON.parse(res.body.toString('utf8')) as { records: JsonRecord[] }).records ?? [];
        if (records.length) next = deliver(records, onRecord, t) + 1;
      }
    })();
    return {
      async close() {
        closed = true;
        own.destroy();
        await loop;
        if (failure) throw failure;
      },
    };
  };

  return {
    async createStream(stream) {
      await requestOk(control, port, 'POST', '/v1/streams', JSON.stringify({ stream }), json);
    },
    async deleteStream(stream) {
      await request(control, port, 'DELETE', `/v1/streams/${encodeURIComponent(stream)}`, undefined, headers).catch(
        () => {},
      );
    },
    async writer(stream, window, options): Promise<Writer> {
      if (options?.session) return appendSession(stream);
      // window 0: many writers (W7) share one pool instead of a connection each.
      const own = window > 0;
      const pool = own ? agent(window) : (shared ??= agent(64));
      pools.add(pool);
      const p = recordsPath(stream);
      return {
        send: (records) => postAppend(pool, port, p, proto, records),
        async close() {
          if (!own) return;
          pool.destroy();
          pools.delete(pool);
        },
      };
    },
    async follow(stream, _recordBytes, onRecord): Promise<Subscription> {
      if (live === 's2s') return followS2s(stream, onRecord);
      return live === 'sse' ? followSse(stream, onRecord) : followPoll(stream, onRecord);
    },
    async catchup(stream, _recordBytes, onRecord) {
      const tail = await tailOf(stream);
      let next = 0;
      while (next < tail) {
        const after = await readPage(stream, next, onRecord);
        if (after < 0) throw new Error(`catch-up stalled at ${next} of ${tail}`);
        next = after;
      }
    },
    async catchupSession(stream, _recordBytes, onRecord) {
      const tail = await tailOf(stream);
      if (tail > 0) await catchupS2s(stream, tail, onRecord);
    },
    async ready() {
      for (;;) {
        const res = await request(control, port, 'GET', '/health').catch(() => undefined);
        if (res?.status === 200) return;
        await sleep(20);
      }
    },
    async close() {
      for (const p of pools) p.destroy();
      control.destroy();
    },
  };
}

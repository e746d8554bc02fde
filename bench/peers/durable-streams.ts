/**
 * @durable-streams/server peer (the protocol's Node reference server): `POST` appends raw bytes,
 * `GET ?live=sse` live reads, `GET ?offset=` catch-up following `Stream-Next-Offset`.
 *
 * A durable stream is a byte stream with no record framing, so a batch is one POST of the
 * concatenated records, and readers cut the bytes back into fixed-size records.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { agent, openEventStream, requestOk } from '../lib/http.js';
import { PROBE_FILE_ENV } from '../lib/loop-probe.js';
import { freePort, sleep, spawnListening, startRestartable } from '../lib/procs.js';
import { nowNs } from '../lib/stats.js';
import type { Adapter, OnRecord, ServerHandle, Subscription, Writer } from '../lib/types.js';

export async function startDurableStreams(dataDir: string | undefined, logDir: string): Promise<ServerHandle> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const entry = fileURLToPath(new URL('./durable-streams-server.ts', import.meta.url));
  const mode = dataDir ? 'file' : 'memory';
  const probe = path.join(logDir, `durable-streams-${mode}-${port}.loop.json`);
  const launch = () =>
    spawnListening(
      process.execPath,
      ['--import', 'tsx', entry, String(port), ...(dataDir ? [dataDir] : [])],
      path.join(logDir, `durable-streams-${mode}.log`),
      port,
      { env: { ...process.env, [PROBE_FILE_ENV]: probe } },
    );
  return startRestartable(launch, { kind: 'durable-streams', port }, dataDir, { kind: 'signal', file: probe });
}

/** Reassembles fixed-size records from arbitrary byte chunks. */
function recordCutter(recordBytes: number, onRecord: OnRecord) {
  let rest: Buffer | undefined;
  return (chunk: Buffer, t: number) => {
    let data = rest ? Buffer.concat([rest, chunk]) : chunk;
    let o = 0;
    for (; o + recordBytes <= data.length; o += recordBytes)
      onRecord(data.subarray(o, o + recordBytes), recordBytes, t);
    rest = o < data.length ? Buffer.from(data.subarray(o)) : undefined;
    data = Buffer.alloc(0);
  };
}

export async function openDurableStreams(port: number): Promise<Adapter> {
  const url = (stream: string) => `/v1/stream/${encodeURIComponent(stream)}`;
  const control = agent(4);
  const pools = new Set<ReturnType<typeof agent>>();
  let shared: ReturnType<typeof agent> | undefined;
  const octets = { 'content-type': 'application/octet-stream' };

  return {
    async createStream(stream) {
      await requestOk(control, port, 'DELETE', url(stream)).catch(() => {});
      await requestOk(control, port, 'PUT', url(stream), undefined, octets);
    },
    async deleteStream(stream) {
      await requestOk(control, port, 'DELETE', url(stream)).catch(() => {});
    },
    async writer(stream, window): Promise<Writer> {
      // One keep-alive connection per request in flight (HTTP/1.1 has no pipelining in practice).
      // window 0: many writers (W7) share one pool instead of a connection each.
      const own = window > 0;
      const pool = own ? agent(window) : (shared ??= agent(64));
      pools.add(pool);
      const p = url(stream);
      return {
        async send(records) {
          await requestOk(pool, port, 'POST', p, records.length === 1 ? records[0]! : Buffer.concat(records), octets);
        },
        async close() {
          if (!own) return;
          pool.destroy();
          pools.delete(pool);
        },
      };
    },
    async follow(stream, recordBytes, onRecord): Promise<Subscription> {
      const cut = recordCutter(recordBytes, onRecord);
      const es = await openEventStream(
        port,
        `${url(stream)}?offset=-1&live=sse`,
        {},
        (event, data, t) => {
          // Binary streams arrive base64-encoded in `data` events; `control` events carry offsets.
          if (event === 'data' && data) cut(Buffer.from(data.replace(/\n/g, ''), 'base64'), t);
        },
        nowNs,
      );
      return {
        async close() {
          es.close();
        },
      };
    },
    async catchup(stream, recordBytes, onRecord) {
      const cut = recordCutter(recordBytes, onRecord);
      let offset = '-1';
      for (;;) {
        const res = await requestOk(control, port, 'GET', `${url(stream)}?offset=${encodeURIComponent(offset)}`);
        if (res.body.length) cut(res.body, nowNs());
        offset = String(res.headers['stream-next-offset'] ?? offset);
        if (res.headers['stream-up-to-date'] === 'true' || res.body.length === 0) return;
      }
    },
    async ready() {
      for (;;) {
        try {
          await requestOk(control, port, 'GET', url('ready-probe')).catch((e: Error) => {
            if (!/HTTP 404/.test(e.message)) throw e;
          });
          return;
        } catch {
          await sleep(20);
        }
      }
    },
    async close() {
      for (const p of pools) p.destroy();
      control.destroy();
    },
  };
}

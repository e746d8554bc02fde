/**
 * Redis Streams peer: `XADD` appends, `XREAD BLOCK` live readers, `XRANGE` catch-up.
 *
 * The server runs with the AOF on. `appendfsync always` fsyncs in the event loop's beforeSleep, so it
 * group-commits every command read in one loop iteration (the durable comparison); `everysec` acks
 * before the fsync (not durable per ack), which brackets our numbers from the other side.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, sleep, spawnListening, startRestartable } from '../lib/procs.js';
import { nowNs } from '../lib/stats.js';
import type { Adapter, OnRecord, ServerHandle, Subscription, Writer } from '../lib/types.js';

export type RedisFsync = 'always' | 'everysec';

export async function startRedis(fsync: RedisFsync, dataDir: string, logDir: string): Promise<ServerHandle> {
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'yes',
    '--appendonly',
    'yes',
    '--appendfsync',
    fsync,
    '--save',
    '',
    '--dir',
    dataDir,
    // A background rewrite in the middle of a measurement would be noise we did not ask for.
    '--auto-aof-rewrite-percentage',
    '0',
    '--daemonize',
    'no',
    '--logfile',
    '',
  ];
  const launch = () => spawnListening('redis-server', args, path.join(logDir, `redis-${fsync}.log`), port);
  return startRestartable(launch, { kind: 'redis', port }, dataDir);
}

const STREAM_FIELD = 'd';

export async function openRedis(port: number): Promise<Adapter> {
  const connect = () =>
    // No ready check: after a restart our own ready() polls, so the recovery time measured is Redis's, not the client's backoff.
    new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      enableReadyCheck: false,
      retryStrategy: () => 20,
    });
  // One connection for control and all writers: ioredis pipelines concurrent commands on it, which is
  // how a Redis producer is normally written, and W7's thousand writers would otherwise mean a
  // thousand connections.
  const main = connect();
  await main.connect();
  const extra = new Set<Redis>();
  const key = (stream: string) => `bench:${stream}`;

  return {
    async createStream(stream) {
      await main.del(key(stream));
    },
    async deleteStream(stream) {
      await main.del(key(stream));
    },
    async writer(stream): Promise<Writer> {
      const k = key(stream);
      return {
        async send(records) {
          if (records.length === 1) {
            await main.xadd(k, '*', STREAM_FIELD, records[0]!);
            return;
          }
          // A pipeline: one round trip for the batch (not a transaction; Redis has no batch XADD).
          const p = main.pipeline();
          for (const r of records) p.xadd(k, '*', STREAM_FIELD, r);
          const res = await p.exec();
          const failed = res?.find(([err]) => err);
          if (failed) throw failed[0]!;
        },
        close: async () => {},
      };
    },
    async follow(stream, _recordBytes, onRecord: OnRecord): Promise<Subscription> {
      // XREAD BLOCK holds its connection, so every live reader gets its own.
      const r = connect();
      await r.connect();
      extra.add(r);
      let closed = false;
      let lastId = '0-0';
      const loop = (async () => {
        while (!closed) {
          const res = await r
            .xreadBuffer('COUNT', 1000, 'BLOCK', 100, 'STREAMS', key(stream), lastId)
            .catch(() => null);
          if (!res || closed) continue;
          const t = nowNs();
          for (const [, entries] of res) {
            for (const [id, fields] of entries) {
              onRecord(fields[1]!, fields[1]!.length, t);
              lastId = id.toString();
            }
          }
        }
      })();
      return {
        async close() {
          closed = true;
          await loop;
          r.disconnect();
          extra.delete(r);
        },
      };
    },
    async catchup(stream, _recordBytes, onRecord) {
      let start = '-';
      for (;;) {
        const page = await main.xrangeBuffer(key(stream), start, '+', 'COUNT', 1000);
        if (page.length === 0) return;
        const t = nowNs();
        for (const [, fields] of page) onRecord(fields[1]!, fields[1]!.length, t);
        start = '(' + page[page.length - 1]![0].toString();
      }
    },
    async ready() {
      // After a restart Redis accepts connections but answers LOADING until the AOF is replayed.
      for (;;) {
        try {
          await main.ping();
          await main.xlen('bench:ready-probe');
          return;
        } catch {
          await sleep(20);
        }
      }
    },
    async close() {
      for (const r of extra) r.disconnect();
      main.disconnect();
    },
  };
}

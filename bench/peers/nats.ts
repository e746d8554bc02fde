/**
 * NATS JetStream peer (file storage): `js.publish` awaiting the PubAck, ordered push consumers for
 * live and catch-up reads.
 *
 * Caveat carried into the report: nats-server 2.9 (Debian 12) has no `sync_interval`, so a PubAck
 * means "written to the OS", not fsynced. It is the peer for our non-durable modes, not for fsync.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, consumerOpts, StorageType, type JetStreamSubscription, type NatsConnection } from 'nats';
import { freePort, sleep, spawnListening, startRestartable } from '../lib/procs.js';
import { nowNs } from '../lib/stats.js';
import type { Adapter, OnRecord, ServerHandle, Subscription, Writer } from '../lib/types.js';

export async function startNats(dataDir: string, logDir: string): Promise<ServerHandle> {
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const conf = path.join(dataDir, 'nats.conf');
  writeFileSync(
    conf,
    [
      `listen: 127.0.0.1:${port}`,
      // Large batches (W5b, 64 KiB records) must fit; 8 MiB is NATS's upper bound.
      'max_payload: 8MB',
      `jetstream { store_dir: ${JSON.stringify(path.join(dataDir, 'js'))} }`,
      '',
    ].join('\n'),
  );
  const launch = () => spawnListening('nats-server', ['-c', conf], path.join(logDir, 'nats.log'), port);
  return startRestartable(launch, { kind: 'nats', port }, dataDir);
}

/** JetStream stream names may not contain '.', '*', '>' or whitespace; subjects use the same token. */
const token = (stream: string) => stream.replace(/[^A-Za-z0-9_-]/g, '_');
const subject = (stream: string) => `bench.${token(stream)}`;

export async function openNats(port: number): Promise<Adapter> {
  const servers = `127.0.0.1:${port}`;
  const nc: NatsConnection = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
  const extra = new Set<NatsConnection>();

  // Ordered push consumer from the first message: the client re-creates it on gaps, so delivery is
  // complete and in order, as a live S2 read session is.
  const subscribe = async (conn: NatsConnection, stream: string) => {
    const opts = consumerOpts();
    opts.orderedConsumer();
    opts.deliverAll();
    return conn.jetstream().subscribe(subject(stream), opts);
  };
  const pump = (sub: JetStreamSubscription, onRecord: OnRecord, until?: () => boolean) =>
    (async () => {
      for await (const m of sub) {
        onRecord(m.data, m.data.length, nowNs());
        if (until?.()) break;
      }
    })();

  return {
    async createStream(stream) {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(token(stream)).catch(() => {});
      await jsm.streams.add({ name: token(stream), subjects: [subject(stream)], storage: StorageType.File });
    },
    async deleteStream(stream) {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(token(stream)).catch(() => {});
    },
    async writer(stream): Promise<Writer> {
      const js = nc.jetstream();
      const subj = subject(stream);
      return {
        async send(records) {
          // JetStream 2.9 has no atomic batch publish: a batch is N publishes awaited together.
          if (records.length === 1) await js.publish(subj, records[0]!);
          else await Promise.all(records.map((r) => js.publish(subj, r)));
        },
        close: async () => {},
      };
    },
    async follow(stream, _recordBytes, onRecord): Promise<Subscription> {
      // Each live reader has its own connection, as with the other systems.
      const conn = await connect({ servers });
      extra.add(conn);
      const sub = await subscribe(conn, stream);
      const done = pump(sub, onRecord);
      return {
        async close() {
          sub.unsubscribe();
          await done.catch(() => {});
          await conn.close();
          extra.delete(conn);
        },
      };
    },
    async catchup(stream, _recordBytes, onRecord) {
      const jsm = await nc.jetstreamManager();
      const total = (await jsm.streams.info(token(stream))).state.messages;
      if (total === 0) return;
      let seen = 0;
      const sub = await subscribe(nc, stream);
      const timer = setTimeout(() => sub.unsubscribe(), 120_000);
      await pump(sub, onRecord, () => ++seen >= total);
      clearTimeout(timer);
      sub.unsubscribe();
    },
    async ready() {
      for (;;) {
        try {
          const jsm = await nc.jetstreamManager();
          await jsm.getAccountInfo();
          return;
        } catch {
          await sleep(20);
        }
      }
    },
    async close() {
      for (const c of extra) await c.close().catch(() => {});
      await nc.close().catch(() => {});
    },
  };
}

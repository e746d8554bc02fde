/**
 * The trivial node:http server as a system under test (see node-http-trivial-server.ts): only the
 * unary append shapes (W3, W4) run against it, through the very request function our unary writer
 * uses (`postAppend`: same agent, same protobuf body, same headers), so ours / trivial is the share
 * of Node's unary HTTP/1.1 ceiling that our append path reaches.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { agent } from '../lib/http.js';
import { PROBE_FILE_ENV } from '../lib/loop-probe.js';
import { freePort, spawnListening, startRestartable } from '../lib/procs.js';
import type { Adapter, ServerHandle, Writer } from '../lib/types.js';
import { postAppend } from '../ours/client.js';

export async function startTrivial(logDir: string): Promise<ServerHandle> {
  const port = await freePort();
  const entry = fileURLToPath(new URL('./node-http-trivial-server.ts', import.meta.url));
  const probe = path.join(logDir, `node-http-trivial-${port}.loop.json`);
  const launch = () =>
    spawnListening(
      process.execPath,
      ['--import', 'tsx', entry, String(port)],
      path.join(logDir, 'node-http-trivial.log'),
      port,
      {
        env: { ...process.env, [PROBE_FILE_ENV]: probe },
      },
    );
  return startRestartable(launch, { kind: 'trivial', port }, undefined, { kind: 'signal', file: probe });
}

const notAStore = (what: string) =>
  Promise.reject(new Error(`the trivial node:http server stores nothing: no ${what}`));

export async function openTrivial(port: number): Promise<Adapter> {
  const pools = new Set<ReturnType<typeof agent>>();
  let shared: ReturnType<typeof agent> | undefined;
  const headers = { 's2-basin': 'trivial', 'content-type': 'application/protobuf', accept: 'application/protobuf' };
  return {
    async createStream() {},
    async deleteStream() {},
    async writer(stream, window): Promise<Writer> {
      const own = window > 0;
      const pool = own ? agent(window) : (shared ??= agent(64));
      pools.add(pool);
      const p = `/v1/streams/${encodeURIComponent(stream)}/records`;
      return {
        send: (records) => postAppend(pool, port, p, headers, records),
        async close() {
          if (!own) return;
          pool.destroy();
          pools.delete(pool);
        },
      };
    },
    follow: () => notAStore('live reads'),
    catchup: () => notAStore('reads'),
    async ready() {},
    async close() {
      for (const p of pools) p.destroy();
    },
  };
}

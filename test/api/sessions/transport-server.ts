/**
 * A server on the real listener (HTTP/1.1 + h2c on one port) whose only routes are the session
 * transports wired to the fakes of fake-engine.ts, for transport-level tests.
 */
import { listen, type Listener } from '../../../src/api/listener.js';
import type { Request, Response } from '../../../src/api/http.js';
import { negotiateCompression } from '../../../src/api/s2s/compression.js';
import { serveS2SAppend } from '../../../src/api/sessions/s2s-append.js';
import { serveS2SRead } from '../../../src/api/sessions/s2s-read.js';
import { serveSseRead } from '../../../src/api/sessions/sse-read.js';
import { ManualClock } from '../../../src/util/clock.js';
import { FakeReadSession, FakeStream, Gate } from './fake-engine.js';

export interface TransportServer {
  baseUrl: string;
  stream: FakeStream;
  /** The read session the next GET will serve (replace it before each read test). */
  read: FakeReadSession;
  inflightInputsMax: number;
  /** Held closed, requests wait here as if their session were still being opened. */
  opening: Gate;
  /** Requests that reached the handler. */
  requests: number;
  /** Errors session handlers threw (internal errors, after the client got its 500). */
  thrown: unknown[];
  /** Resolves when every session handler returned. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTransportServer(): Promise<TransportServer> {
  const clock = new ManualClock(1_700_000_000_000);
  const running = new Set<Promise<void>>();
  const state: TransportServer = {
    baseUrl: '',
    stream: new FakeStream(),
    read: new FakeReadSession(),
    inflightInputsMax: 1000,
    thrown: [],
    opening: new Gate(),
    requests: 0,
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
    async stop() {
      await listener.close(1000);
      await state.idle();
    },
  };
  const handle = async (req: Request, res: Response) => {
    res.on('error', () => {});
    state.requests += 1;
    await state.opening.wait();
    const compression = negotiateCompression(req.headers['accept-encoding']);
    if (req.method === 'POST') {
      await serveS2SAppend(req, res, state.stream.session(), {
        inflightInputsMax: state.inflightInputsMax,
      });
    } else if (req.headers.accept === 'text/event-stream') {
      await serveSseRead(req, res, state.read, { format: 'raw', clock });
    } else {
      await serveS2SRead(req, res, state.read, compression);
    }
  };
  const listener: Listener = await listen({
    host: '127.0.0.1',
    port: 0,
    handler: (req, res) => {
      const run = handle(req, res)
        .catch((error: unknown) => void state.thrown.push(error))
        .finally(() => running.delete(run));
      running.add(run);
    },
  });
  state.baseUrl = `http://127.0.0.1:${listener.port}`;
  return state;
}

/**
 * One port, every protocol the official clients use (api.md 1.1): on a cleartext port both
 * HTTP/1.1 and HTTP/2 with prior knowledge (h2c); under TLS, HTTP/2 and HTTP/1.1 by ALPN.
 *
 * Node's HTTP/2 server has no HTTP/1.1 fallback on cleartext, so we accept TCP connections
 * ourselves, look at the first bytes for the HTTP/2 client preface, put them back, and hand the
 * socket to the HTTP/2 or the HTTP/1.1 server.
 *
 * Per-connection bounds: an HTTP/2 connection carries at most `http2StreamsPerConnectionMax`
 * streams; an HTTP/1.1 connection has one request handled at a time (see `Http1Pipeline`).
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Socket } from 'node:net';
import { http1PipelinedRequestsMax, http2StreamsPerConnectionMax } from '../limits.js';
import type { Request, Response } from './http.js';

const http2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** A connection that has not sent its first bytes within this time is closed. */
const sniffTimeoutMs = 30_000;

export interface ListenerOptions {
  host: string;
  port: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  handler: (req: Request, res: Response) => void;
}

export interface Listener {
  readonly port: number;
  /** Stops accepting; resolves when every connection has closed or `graceMs` passed (then destroys them). */
  close(graceMs: number): Promise<void>;
}

export async function listen(options: ListenerOptions): Promise<Listener> {
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.Http2Session>();
  const h2Settings: http2.Settings = {
    enableConnectProtocol: false,
    maxConcurrentStreams: http2StreamsPerConnectionMax,
  };
  const handler = inOrder(options.handler);
  let server: net.Server;
  let h1: http.Server | undefined;
  let h2: http2.Http2Server | http2.Http2SecureServer;

  if (options.tls) {
    h2 = http2.createSecureServer({ ...options.tls, allowHTTP1: true, settings: h2Settings }, handler);
    server = h2;
  } else {
    h1 = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, handler);
    // The HTTP/1.1 server never listens itself (the sniffer hands it sockets), and Node only sets
    // up its connection tracking on 'listening'. Without it closeIdleConnections() is a no-op, so
    // an idle keep-alive client held up shutdown until the grace period, and headersTimeout was
    // never enforced.
    h1.emit('listening');
    h2 = http2.createServer({ settings: h2Settings }, handler);
    // noDelay: http.createServer would disable Nagle on the sockets it accepts, but ours come from
    // this net server. With Nagle on, small S2S frames and SSE events sat in the kernel for up to a
    // delayed-ACK period: followers saw records ~10 ms after the writer's ack (W6 in the benchmarks).
    server = net.createServer({ noDelay: true }, (socket) => sniffProtocol(socket, h1!, h2));
  }
  h2.on('session', (session: http2.Http2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    // A client that vanishes must not leave a session (and its streams) behind.
    session.on('error', () => session.destroy());
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    async close(graceMs: number) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      h1?.closeIdleConnections();
      for (const session of sessions) session.close();
      const timer = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      // HTTP/1.1 keep-alive sockets that become idle after their last response.
      const idleSweep = setInterval(() => h1?.closeIdleConnections(), 100);
      await closed;
      clearTimeout(timer);
      clearInterval(idleSweep);
      // Stops the HTTP/1.1 server's connection checker (it is not listening, so no callback).
      h1?.close();
    },
  };
}

function sniffProtocol(socket: Socket, h1: http.Server, h2: http2.Http2Server | http2.Http2SecureServer): void {
  let buffered = Buffer.alloc(0);
  socket.setTimeout(sniffTimeoutMs, () => socket.destroy());
  const dispatch = (target: 'h1' | 'h2') => {
    socket.off('data', onData);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(buffered);
    (target === 'h2' ? h2 : h1).emit('connection', socket);
    process.nextTick(() => socket.resume());
  };
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const n = Math.min(buffered.length, http2Preface.length);
    if (!buffered.subarray(0, n).equals(http2Preface.subarray(0, n))) return dispatch('h1');
    if (buffered.length >= http2Preface.length) dispatch('h2');
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
}

type Handler = ListenerOptions['handler'];

/** Wraps `handler` so that HTTP/1.1 requests of one connection are handled in order, one at a time. */
function inOrder(handler: Handler): Handler {
  return (req, res) => {
    if (req.httpVersionMajor !== 1) return handler(req, res);
    const socket = req.socket;
    let pipeline = pipelines.get(socket);
    if (!pipeline) {
      pipeline = new Http1Pipeline(socket, handler);
      pipelines.set(socket, pipeline);
    }
    pipeline.add(req, res);
  };
}

const pipelines = new WeakMap<Socket, Http1Pipeline>();

/**
 * A response of an HTTP/1.1 connection closed: its next request may start. One function for all
 * (no closure per request); the request keeps its socket after the response detached from it.
 */
function onResponseClose(this: Response): void {
  const req = (this as http.ServerResponse).req;
  pipelines.get(req.socket)?.next();
}

/**
 * The requests of one HTTP/1.1 connection. Responses go out in request order, so handling a
 * pipelined request before the previous response finished only builds a response that has to
 * wait in memory: Node hands every request parsed from a chunk to the handler at once, and 1000
 * pipelined reads of 1 MiB from a client that read nothing cost over 1 GB. Here the next handler
 * starts when the previous response closed; while `http1PipelinedRequestsMax` requests wait, the
 * socket is not read (so the client is slowed by TCP flow control, not buffered). A connection
 * that goes away drops its waiting requests unhandled.
 */
class Http1Pipeline {
  private busy = false;
  private paused = false;
  /** Waiting requests, as pairs (request, response). */
  private readonly waiting: (Request | Response)[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly handler: Handler,
  ) {
    // Node resumes the socket itself (when its own output drains, or a body is read): stay paused.
    socket.on('resume', () => {
      if (this.paused) socket.pause();
    });
    socket.once('close', () => {
      this.waiting.length = 0;
    });
  }

  add(req: Request, res: Response): void {
    if (!this.busy) return this.run(req, res);
    this.waiting.push(req, res);
    if (this.waiting.length >= 2 * http1PipelinedRequestsMax && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  next(): void {
    this.busy = false;
    const req = this.waiting.shift() as Request | undefined;
    const res = this.waiting.shift() as Response | undefined;
    if (this.paused && this.waiting.length < http1PipelinedRequestsMax) {
      this.paused = false;
      this.socket.resume();
    }
    if (req && res) this.run(req, res);
  }

  private run(req: Request, res: Response): void {
    this.busy = true;
    res.on('close', onResponseClose);
    this.handler(req, res);
  }
}

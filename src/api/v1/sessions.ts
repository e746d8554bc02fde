/**
 * Streaming sessions on `/v1/streams/{stream}/records` (api.md 3.14-3.15): S2S append and read
 * sessions (`Content-Type: s2s/proto`) and SSE reads (`Accept: text/event-stream`), wired to the
 * engine's `openAppendSession` / `openReadSession`. The records routes dispatch here after the
 * headers, path and query were extracted, so malformed input is still an ordinary 4xx.
 *
 * Opening (session slot, stream lookup and auto-create, read start and 416) happens before the
 * 200 is sent; its failures are JSON responses. Everything after is the transport's: framed or
 * evented, ending with a terminal frame / error event on failure (src/api/sessions/).
 */
import { errors } from '../../domain/errors.js';
import type { Engine } from '../../engine/engine.js';
import type { ReadRequest, ReadSession } from '../../engine/read-session.js';
import type { StreamConfigLayer } from '../../domain/types.js';
import { appendSessionInputsInflightMax, streamingSessionsMax } from '../../limits.js';
import { parseFormatHeader } from '../codec/json-records.js';
import type { RequestContext } from '../http.js';
import { negotiateCompression } from '../s2s/compression.js';
import { Access } from '../auth/access.js';
import { accessOf } from '../auth/request.js';
import type { AppendSessionPort, ReadSessionPort } from '../sessions/ports.js';
import { serveS2SAppend } from '../sessions/s2s-append.js';
import { serveS2SRead } from '../sessions/s2s-read.js';
import { SessionSlots } from '../sessions/slots.js';
import { metrics } from '../../metrics.js';
import { countRead } from './read-metrics.js';
import { serveSseRead } from '../sessions/sse-read.js';
import { parseLastEventId } from '../sse.js';
import type { EncryptionKey } from '../../engine/encryption/key.js';

const byEngine = new WeakMap<Engine, StreamingSessions>();

/** The sessions of `engine`'s server: one registry (and one session cap) per engine. */
export function streamingSessions(engine: Engine): StreamingSessions {
  let sessions = byEngine.get(engine);
  if (!sessions) {
    sessions = new StreamingSessions(engine);
    byEngine.set(engine, sessions);
  }
  return sessions;
}

export interface SessionTarget {
  basin: string;
  stream: string;
  /** `s2-stream-config`, used only if opening auto-creates the stream (api.md 7.6). */
  streamConfig?: StreamConfigLayer;
  /** `S2-Encryption-Key` (api.md 13): resolved at opening, wiped when the session ends. */
  encryptionKey?: EncryptionKey;
}

/**
 * Adapts an engine read session to the transports, counting what it delivers (by transport).
 * Before each batch or heartbeat the access token must still be valid: a token revoked or
 * expired ends the session with 401 `authn` (issue 18). A session of an instance that got
 * fenced or failed ends with 503 `unavailable` (a terminal frame or error event) at its next
 * output, heartbeats included, instead of serving a stale view.
 */
function readPort(session: ReadSession, transport: 's2s' | 'sse', engine: Engine, access: Access): ReadSessionPort {
  metrics.sessionsOpen.inc({ kind: `${transport}_read` });
  let open = true;
  return {
    next: async () => {
      const result = await session.next();
      if (result.done) return undefined;
      access.stillValid();
      const health = engine.health();
      if (!health.ok) throw errors.unavailable(`this instance cannot serve: ${health.reason}`);
      if (result.value.kind === 'batch') countRead(transport, result.value.list);
      return result.value;
    },
    setLiveSink: (sink) => {
      if (sink === undefined) return session.setLiveSink(undefined);
      // The checks of `next()`: one failing refuses the push (a throw too), and `next()` then
      // meets it again and ends the session.
      session.setLiveSink((output) => {
        access.stillValid();
        if (!engine.health().ok || !sink(output)) return false;
        if (output.kind === 'batch') countRead(transport, output.list);
        return true;
      });
    },
    close: () => {
      if (open) metrics.sessionsOpen.dec({ kind: `${transport}_read` });
      open = false;
      session.close();
    },
  };
}

/**
 * `Last-Event-ID: s,c,b` (api.md 8.4): resume at `s + 1` whatever start the query named (clamp
 * still applies), with `count`/`bytes` reduced by what the previous response delivered,
 * saturating at 0. The counters are per response, so only the latest response's are subtracted.
 */
export function applyLastEventId(request: ReadRequest, header: string | undefined): ReadRequest {
  if (header === undefined) return request;
  const id = parseLastEventId(header.trim());
  const resumed: ReadRequest = { ...request, start: { seqNum: id.lastSeqNum + 1 } };
  if (request.count !== undefined) resumed.count = Math.max(0, request.count - id.count);
  if (request.bytes !== undefined) resumed.bytes = Math.max(0, request.bytes - id.bytes);
  return resumed;
}

/**
 * An append session that checks, per input, that the access token is still valid and allows
 * what the input holds (records, fence, trim); the first refusal ends the session (api.md 7.4).
 */
function guardedAppend(session: AppendSessionPort, access: Access): AppendSessionPort {
  if (access === Access.unrestricted) return session;
  return {
    submit: (input, signal) => {
      access.stillValid();
      access.appendInput(input);
      return session.submit(input, signal);
    },
    close: () => session.close(),
  };
}

export class StreamingSessions {
  readonly slots = new SessionSlots(streamingSessionsMax);
  inflightInputsMax = appendSessionInputsInflightMax;

  constructor(private readonly engine: Engine) {}

  /** S2S append session (api.md 7.4). */
  async append(ctx: RequestContext, target: SessionTarget): Promise<void> {
    await this.holdingSlot(ctx, target, async () => {
      const session = await this.engine.openAppendSession(target.basin, target.stream, this.openOptions(target));
      metrics.sessionsOpen.inc({ kind: 's2s_append' });
      try {
        await serveS2SAppend(ctx.req, ctx.res, guardedAppend(session, accessOf(ctx)), {
          inflightInputsMax: this.inflightInputsMax,
        });
      } finally {
        metrics.sessionsOpen.dec({ kind: 's2s_append' });
      }
    });
  }

  /** S2S read session (api.md 8.6). */
  async readS2S(ctx: RequestContext, target: SessionTarget, request: ReadRequest): Promise<void> {
    await this.holdingSlot(ctx, target, async () => {
      const compression = negotiateCompression(ctx.headerValues('accept-encoding'));
      const session = await this.openRead(target, request);
      await serveS2SRead(ctx.req, ctx.res, readPort(session, 's2s', this.engine, accessOf(ctx)), compression);
    });
  }

  /** SSE read session (api.md 8.4). */
  async readSse(ctx: RequestContext, target: SessionTarget, request: ReadRequest): Promise<void> {
    await this.holdingSlot(ctx, target, async () => {
      const format = parseFormatHeader(ctx.header('s2-format'));
      const resumed = applyLastEventId(request, ctx.header('last-event-id'));
      const session = await this.openRead(target, resumed);
      await serveSseRead(ctx.req, ctx.res, readPort(session, 'sse', this.engine, accessOf(ctx)), {
        format,
        clock: this.engine.ctx.clock,
      });
    });
  }

  /**
   * Runs a session in a slot of the session cap. The key is wiped whatever ends the session,
   * including a refusal before it opened (cap reached: 429; a bad header: 400), so no path
   * leaves key bytes in memory after the request.
   */
  private async holdingSlot(ctx: RequestContext, target: SessionTarget, run: () => Promise<void>): Promise<void> {
    try {
      const release = this.slots.acquire(ctx.connection);
      try {
        await run();
      } finally {
        release();
      }
    } finally {
      target.encryptionKey?.wipe();
    }
  }

  private openRead(target: SessionTarget, request: ReadRequest): Promise<ReadSession> {
    return this.engine.openReadSession(target.basin, target.stream, request, this.openOptions(target));
  }

  private openOptions(target: SessionTarget): { streamConfig?: StreamConfigLayer; encryptionKey?: EncryptionKey } {
    return {
      ...(target.streamConfig ? { streamConfig: target.streamConfig } : {}),
      ...(target.encryptionKey ? { encryptionKey: target.encryptionKey } : {}),
    };
  }
}

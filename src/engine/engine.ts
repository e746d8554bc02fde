/**
 * The engine facade the API layer calls. It wires the context (state, log, clock, rand) and
 * delegates to one module per operation family; it holds no logic of its own.
 */
import { randomUUID } from 'node:crypto';
import type { StreamLog } from '../storage/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { systemRand, type Rand } from '../util/rand.js';
import { errors } from '../domain/errors.js';
import { appendInflightBytesDefault, appendInflightBytesMin } from '../limits.js';
import type { AccessTokenMeta } from '../domain/access-tokens.js';
import * as accessTokens from './access-tokens.js';
import { append, AppendSession, type AppendOptions, type DataPlane } from './append.js';
import { BackgroundTasks } from './background.js';
import * as basins from './basins.js';
import type { BasinConfigPatch, StreamConfigPatch } from './config.js';
import type { EngineContext } from './context.js';
import { DurabilityRouter } from './durability.js';
import {
  collectUnary,
  openReadSession,
  type OpenReadOptions,
  type ReadRequest,
  type ReadSession,
  type UnaryRead,
} from './read-session.js';
import { Semaphore } from './semaphore.js';
import { EngineState, type AccessTokenState, type StreamState } from './state.js';
import { engineLog } from './storage-errors.js';
import { streamerOf } from './streamer.js';
import * as streams from './streams.js';
import type { AppendAck, AppendInput, BasinConfig, StreamConfigLayer, StreamPosition } from '../domain/types.js';

export interface EngineOptions {
  clock?: Clock;
  rand?: Rand;
  newStreamId?: () => string;
  /** Structured log events from the engine (the server wires pino). */
  logEvent?: (event: string, fields: Record<string, unknown>) => void;
  /** Global budget of metered bytes of appends admitted but not yet acknowledged (api.md 7.1). */
  appendInflightBytes?: number;
}

export class Engine {
  readonly ctx: EngineContext;
  readonly background: BackgroundTasks;
  private readonly dataPlane: DataPlane;

  constructor(log: StreamLog, options: EngineOptions = {}) {
    const logEvent = options.logEvent ?? (() => {});
    const state = EngineState.fromRecovered(log.recovered());
    const durability = new DurabilityRouter(state, logEvent);
    this.ctx = {
      state,
      log: engineLog(log),
      durability,
      clock: options.clock ?? systemClock,
      rand: options.rand ?? systemRand,
      newStreamId: options.newStreamId ?? (() => randomUUID()),
      terminalTrim: (stream) => this.terminalTrim(stream),
      triggerBackground: () => this.background.trigger(),
      shuttingDown: false,
    };
    this.background = new BackgroundTasks(this.ctx, logEvent);
    const budget = Math.max(appendInflightBytesMin, options.appendInflightBytes ?? appendInflightBytesDefault);
    this.dataPlane = { ctx: this.ctx, budget: new Semaphore(budget), refusal: () => this.writeRefusal() };
    this.ctx.log.subscribe(durability);
  }

  start(): void {
    this.background.start();
  }

  /**
   * Graceful shutdown, first step: refuse new writes and live follows, end the live followers
   * (their sessions finish with a 503 `unavailable` terminal frame or error event), and wait
   * until every append already sequenced is durable, so its client gets its acknowledgement.
   */
  async drain(): Promise<void> {
    this.ctx.shuttingDown = true;
    this.endFollowers();
    await this.ctx.log.barrier().catch(() => {});
  }

  async close(): Promise<void> {
    await this.background.stop();
    this.endFollowers();
    for (const stream of this.ctx.state.streamsById.values()) stream.runtime?.shutdown();
    await this.ctx.log.close();
  }

  /** ok, or why the server cannot serve (fenced, storage failed, closed). */
  health(): { ok: true } | { ok: false; reason: string } {
    const reason = this.ctx.log.refusal();
    return reason === undefined ? { ok: true } : { ok: false, reason };
  }

  /** Live followers end with `unavailable` (after the batches already queued for them). */
  private endFollowers(): void {
    const closing = errors.unavailable('server shutting down');
    for (const stream of this.ctx.state.streamsById.values()) stream.followers?.close(closing);
  }

  // Control plane: basins.
  listBasins = (query: basins.ListQuery) => basins.listBasins(this.ctx, query);
  createBasin = (name: string, config: BasinConfig, requestToken?: string) =>
    basins.createBasin(this.ctx, name, config, requestToken);
  getBasinConfig = (name: string) => basins.getBasinConfig(this.ctx, name);
  ensureBasin = (name: string, config: BasinConfig) => basins.ensureBasin(this.ctx, name, config);
  reconfigureBasin = (name: string, patch: BasinConfigPatch) => basins.reconfigureBasin(this.ctx, name, patch);
  deleteBasin = (name: string) => basins.deleteBasin(this.ctx, name);

  // Control plane: streams.
  listStreams = (basin: string, query: basins.ListQuery) => streams.listStreams(this.ctx, basin, query);
  createStream = (basin: string, name: string, config: StreamConfigLayer, requestToken?: string) =>
    streams.createStream(this.ctx, basin, name, config, requestToken);
  getStreamConfig = (basin: string, name: string) => streams.getStreamConfig(this.ctx, basin, name);
  ensureStream = (basin: string, name: string, config: StreamConfigLayer) =>
    streams.ensureStream(this.ctx, basin, name, config);
  reconfigureStream = (basin: string, name: string, patch: StreamConfigPatch) =>
    streams.reconfigureStream(this.ctx, basin, name, patch);
  deleteStream = (basin: string, name: string) => streams.deleteStream(this.ctx, basin, name);

  // Access tokens (issue 18): the store; authentication and scopes are the api layer's.
  issueAccessToken = (id: string, meta: AccessTokenMeta) => accessTokens.issueAccessToken(this.ctx, id, meta);
  revokeAccessToken = (id: string) => accessTokens.revokeAccessToken(this.ctx, id);
  listAccessTokens = (query: basins.ListQuery) => accessTokens.listAccessTokens(this.ctx, query);
  storeRootTokenHash = (hash: string) => accessTokens.storeRootTokenHash(this.ctx, hash);
  /** The issued token with this hash, from the current view (a revoked token is gone at once). */
  accessTokenByHash(hash: string): AccessTokenState | undefined {
    return this.ctx.state.accessTokensByHash.get(hash);
  }
  /** Whether `token` is still issued (not revoked since it was looked up). */
  isIssued(token: AccessTokenState): boolean {
    return this.ctx.state.accessTokens.get(token.id) === token;
  }
  get rootTokenHash(): string | null {
    return this.ctx.state.rootTokenHash;
  }

  // Data plane (api.md 3.13-3.15, 7, 8).

  /** Unary append: resolves with the ack once the batch is durable (api.md 7.1). */
  append = (basin: string, stream: string, input: AppendInput, options?: AppendOptions): Promise<AppendAck> =>
    append(this.dataPlane, basin, stream, input, options);

  /** An append session for S2S (api.md 7.4): `submit` inputs in order, acks settle in order. */
  openAppendSession = (basin: string, stream: string, options?: AppendOptions): Promise<AppendSession> =>
    AppendSession.open(this.dataPlane, basin, stream, options);

  /** A read session (catch-up then follow) shared by the unary, SSE and S2S reads (api.md 8). */
  openReadSession = (
    basin: string,
    stream: string,
    request: ReadRequest,
    options?: OpenReadOptions,
  ): Promise<ReadSession> => openReadSession(this.ctx, basin, stream, request, options);

  /** Unary read (api.md 8.5): the caller passes the unary caps in `request`. */
  async read(
    basin: string,
    stream: string,
    request: ReadRequest,
    options?: OpenReadOptions & { signal?: AbortSignal },
  ): Promise<UnaryRead> {
    const session = await openReadSession(this.ctx, basin, stream, request, options);
    const signal = options?.signal;
    if (signal?.aborted) session.close();
    // The signal may be the connection's (one per HTTP/1.1 connection): remove the listener after.
    const onAbort = () => session.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await collectUnary(session);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The durable tail (api.md 3.13), auto-creating per `create_stream_on_read`. */
  async checkTail(basin: string, name: string, options?: OpenReadOptions): Promise<StreamPosition> {
    const stream = await streams.openStream(this.ctx, basin, name, 'read', options?.streamConfig);
    return stream.tail;
  }

  private writeRefusal(): string | undefined {
    return this.ctx.log.refusal() ?? (this.ctx.shuttingDown ? 'server shutting down' : undefined);
  }

  /**
   * Stream deletion's terminal trim, sequenced by the stream's streamer after every earlier
   * append (lite-internals 3.7); resolves once durable, which lets the purge task run.
   */
  private async terminalTrim(stream: StreamState): Promise<void> {
    if (stream.terminalTrimDurable) return;
    const refusal = this.writeRefusal();
    if (refusal !== undefined) throw errors.unavailable(refusal);
    // Concurrent deletions share the one terminal trim (Streamer.terminalTrim).
    await streamerOf(this.ctx, stream).terminalTrim();
  }
}

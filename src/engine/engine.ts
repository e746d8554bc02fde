/**
 * The engine facade the API layer calls. It wires the context (state, log, clock, rand) and
 * delegates to one module per operation family; it holds no logic of its own.
 */
import { randomUUID } from 'node:crypto';
import type { StreamLog } from '../storage/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { systemRand, type Rand } from '../util/rand.js';
import { errors } from '../errors.js';
import { BackgroundTasks } from './background.js';
import * as basins from './basins.js';
import type { BasinConfigPatch, StreamConfigPatch } from './config.js';
import type { EngineContext } from './context.js';
import { EngineState, terminalTrimPoint, type StreamState } from './state.js';
import * as streams from './streams.js';
import type { BasinConfig, StreamConfigLayer } from './types.js';

export interface EngineOptions {
  clock?: Clock;
  rand?: Rand;
  newStreamId?: () => string;
  /** Structured log events from the engine (the server wires pino). */
  logEvent?: (event: string, fields: Record<string, unknown>) => void;
}

export class Engine {
  readonly ctx: EngineContext;
  readonly background: BackgroundTasks;
  private failure: string | undefined;

  constructor(log: StreamLog, options: EngineOptions = {}) {
    const logEvent = options.logEvent ?? (() => {});
    this.ctx = {
      state: EngineState.fromRecovered(log.recovered()),
      log,
      clock: options.clock ?? systemClock,
      rand: options.rand ?? systemRand,
      newStreamId: options.newStreamId ?? (() => randomUUID()),
      terminalTrim: (stream) => this.commitTerminalTrim(stream),
      triggerBackground: () => this.background.trigger(),
    };
    this.background = new BackgroundTasks(this.ctx, logEvent);
    log.onFailure((reason) => {
      this.failure = reason;
      logEvent('storage failed', { reason });
    });
  }

  start(): void {
    this.background.start();
  }

  async close(): Promise<void> {
    await this.background.stop();
    await this.ctx.log.close();
  }

  /** ok, or why the server cannot serve (fenced, storage failed, closed). */
  health(): { ok: true } | { ok: false; reason: string } {
    if (this.failure !== undefined) return { ok: false, reason: this.failure };
    return this.ctx.log.status();
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

  /**
   * Terminal trim written straight to the log at the durable tail. Correct only while no
   * streamer is sequencing appends for the stream; the data plane replaces this with a trim
   * sequenced by the stream's streamer.
   */
  private async commitTerminalTrim(stream: StreamState): Promise<void> {
    if (this.failure !== undefined) throw errors.unavailable(this.failure);
    const now = this.ctx.clock.nowMs();
    const uncapped = stream.meta.config.timestamping.uncapped;
    const maxU64 = 0xffff_ffff_ffff_ffffn;
    let timestamp = uncapped ? maxU64 : BigInt(now);
    if (timestamp < stream.tail.timestamp) timestamp = stream.tail.timestamp;
    const record = {
      seqNum: stream.tail.seqNum,
      timestamp,
      headers: [[new Uint8Array(0), new TextEncoder().encode('trim')]] as [Uint8Array, Uint8Array][],
      body: new Uint8Array(8).fill(0xff),
    };
    const tail = { seqNum: record.seqNum + 1, timestamp };
    await this.ctx.log.commit([
      {
        kind: 'append',
        stream: stream.id,
        records: [record],
        tail,
        trimPoint: terminalTrimPoint,
        writtenAtMs: now,
        expiresAtMs: null,
      },
    ]);
    stream.tail = tail;
    stream.trimPoint = terminalTrimPoint;
    stream.lastWriteMs = now;
    stream.terminalTrimDurable = true;
  }
}

/**
 * Background work of the control plane (api.md 12): purging deleted streams once their terminal
 * trim is durable, finishing basin deletions, and delete-on-empty. Each run is cheap when there
 * is nothing to do; runs happen on a jittered period and shortly after a trigger.
 */
import { backgroundTaskPeriodMs } from '../limits.js';
import type { Timer } from '../util/clock.js';
import type { EngineContext } from './context.js';
import { deleteStream } from './streams.js';
import type { StreamState } from './state.js';

/** Delay between a trigger (e.g. a deletion) and the run, so clients can observe "deleting". */
export const triggeredRunDelayMs = 1_000;

export class BackgroundTasks {
  private timer: Timer | undefined;
  private nextRunAt = Infinity;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly log: (event: string, fields: Record<string, unknown>) => void = () => {},
  ) {}

  start(): void {
    this.schedule(this.jitteredPeriod());
  }

  trigger(): void {
    this.schedule(triggeredRunDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running;
  }

  /**
   * Runs one full pass that starts after this call (tests call this directly). A pass already in
   * progress may have missed changes made after it started (a deletion that triggered us while it
   * ran), so we wait for it and then run a fresh one rather than joining it.
   */
  async runOnce(): Promise<void> {
    while (this.running) await this.running.catch(() => {});
    if (this.stopped) return;
    this.running = this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const at = this.ctx.clock.monotonicMs() + delayMs;
    if (at >= this.nextRunAt) return;
    this.timer?.cancel();
    this.nextRunAt = at;
    this.timer = this.ctx.clock.setTimer(delayMs, () => {
      this.nextRunAt = Infinity;
      void this.runOnce()
        .catch((error) => this.log('background task failed', { error: String(error) }))
        .finally(() => this.schedule(this.jitteredPeriod()));
    });
  }

  private jitteredPeriod(): number {
    return backgroundTaskPeriodMs * (0.9 + 0.2 * this.ctx.rand.next());
  }

  /**
   * Streams are purged before deleting basins are checked for emptiness, so one pass finishes a
   * basin deletion whose streams' terminal trims are durable (otherwise a basin would stay
   * "deleting" for a whole period after its last stream was purged).
   */
  private async pass(): Promise<void> {
    await this.deleteOnEmpty();
    await this.deleteStreamsOfDeletingBasins();
    await this.purgeDeletedStreams();
    await this.removeEmptyDeletingBasins();
  }

  private async purgeDeletedStreams(): Promise<void> {
    const { state, log } = this.ctx;
    for (const stream of [...state.streamsById.values()]) {
      if (stream.meta.deletedAtMs === null || !stream.terminalTrimDurable) continue;
      await log.commit([{ kind: 'stream.delete', stream: stream.id }]);
      state.removeStream(stream);
      this.log('stream purged', { basin: stream.basin, stream: stream.name });
    }
  }

  private async deleteStreamsOfDeletingBasins(): Promise<void> {
    for (const basin of [...this.ctx.state.basins.values()]) {
      if (basin.meta.deletedAtMs === null) continue;
      for (const stream of [...basin.streams.values()]) {
        if (stream.meta.deletedAtMs === null) await deleteStream(this.ctx, basin.name, stream.name);
      }
    }
  }

  /** A deleting basin is removed once none of its streams remain (api.md 12.1). */
  private async removeEmptyDeletingBasins(): Promise<void> {
    const { state, log } = this.ctx;
    for (const basin of [...state.basins.values()]) {
      if (basin.meta.deletedAtMs === null || basin.streams.size > 0) continue;
      await log.commit([{ kind: 'basin.delete', basin: basin.name }]);
      if (state.basins.get(basin.name) === basin) state.basins.delete(basin.name);
      this.log('basin deleted', { basin: basin.name });
    }
  }

  /**
   * Delete-on-empty (api.md 12.3): a stream with `min_age_secs > 0`, no append for that long
   * and no unexpired records is deleted. Exact timing is not part of the contract.
   */
  private async deleteOnEmpty(): Promise<void> {
    const now = this.ctx.clock.nowMs();
    for (const stream of [...this.ctx.state.streamsById.values()]) {
      const minAgeSecs = stream.meta.config.deleteOnEmpty.minAgeSecs;
      if (minAgeSecs <= 0 || stream.meta.deletedAtMs !== null) continue;
      if (now - stream.lastWriteMs < minAgeSecs * 1000) continue;
      if (!(await this.isEmpty(stream, now))) continue;
      // Re-check after the asynchronous emptiness scan: an append may have landed meanwhile, or be
      // sequenced but not yet durable (deleteStream sequences the terminal trim synchronously).
      if (now - stream.lastWriteMs < minAgeSecs * 1000 || stream.meta.deletedAtMs !== null) continue;
      if ((stream.runtime?.pendingCount ?? 0) > 0) continue;
      this.log('deleting empty stream', { basin: stream.basin, stream: stream.name });
      await deleteStream(this.ctx, stream.basin, stream.name);
    }
  }

  private async isEmpty(stream: StreamState, nowMs: number): Promise<boolean> {
    const { records } = await this.ctx.log.read({
      stream: stream.id,
      startSeqNum: stream.trimPoint,
      endSeqNum: stream.tail.seqNum,
      maxRecords: 1,
      maxBytes: Number.MAX_SAFE_INTEGER,
      nowMs,
    });
    return records.length === 0;
  }
}

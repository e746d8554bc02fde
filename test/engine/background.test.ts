/**
 * Proves the control-plane background tasks (api.md 12.1-12.2) on the engine with a manual clock:
 * one pass purges deleted streams and removes a deleting basin that has become empty, a triggered
 * run happens about a second after a deletion, and a pass requested while another is running is
 * a fresh pass that sees changes made meanwhile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import type { Mutation, StreamLog } from '../../src/storage/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { until } from '../support/until.js';

const memoryLog = (): Promise<ChunkLog> => ChunkLog.open(new MemoryObjectStore());

/** The in-memory log, except that `stream.delete` commits wait until the test opens the gate. */
class GatedLog {
  static async create(): Promise<StreamLog & GatedLog> {
    const inner = await memoryLog();
    const gated = new GatedLog(inner);
    // Every other StreamLog method goes straight to the inner log.
    return new Proxy(gated, {
      get(target, prop, receiver) {
        if (prop in target) return Reflect.get(target, prop, receiver);
        const value = Reflect.get(inner, prop, inner);
        return typeof value === 'function' ? value.bind(inner) : value;
      },
    }) as StreamLog & GatedLog;
  }

  private constructor(private readonly inner: StreamLog) {}

  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  blocked = 0;

  closeGate(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  openGate(): void {
    this.open?.();
    this.gate = undefined;
  }

  async commit(mutations: Mutation[]): Promise<void> {
    if (this.gate && mutations.some((m) => m.kind === 'stream.delete')) {
      this.blocked += 1;
      await this.gate;
    }
    return this.inner.commit(mutations);
  }
}

let engines: Engine[] = [];
afterEach(async () => {
  for (const engine of engines) await engine.close();
  engines = [];
});

async function newEngine(log?: StreamLog): Promise<{ engine: Engine; clock: ManualClock }> {
  log ??= await memoryLog();
  const clock = new ManualClock();
  const engine = new Engine(log, { clock });
  engine.start();
  engines.push(engine);
  return { engine, clock };
}

const basinConfig = { createStreamOnAppend: false, createStreamOnRead: false };

describe('background tasks', () => {
  it('finishes the deletion of a basin whose streams were already deleted in a single pass', async () => {
    const { engine } = await newEngine();
    await engine.createBasin('basin-with-streams', basinConfig);
    await engine.createStream('basin-with-streams', 'a', {});
    await engine.createStream('basin-with-streams', 'b', {});
    await engine.deleteStream('basin-with-streams', 'a');
    await engine.deleteBasin('basin-with-streams');
    await engine.background.runOnce();
    expect(engine.ctx.state.basins.has('basin-with-streams')).toBe(false);
    expect(engine.ctx.state.streamsById.size).toBe(0);
    await expect(engine.getBasinConfig('basin-with-streams')).rejects.toMatchObject({ code: 'basin_not_found' });
  });

  it('purges a deleted stream in one pass and keeps the live ones', async () => {
    const { engine } = await newEngine();
    await engine.createBasin('basin-purge-one', basinConfig);
    await engine.createStream('basin-purge-one', 'gone', {});
    await engine.createStream('basin-purge-one', 'kept', {});
    await engine.deleteStream('basin-purge-one', 'gone');
    await expect(engine.getStreamConfig('basin-purge-one', 'gone')).rejects.toMatchObject({
      code: 'stream_deletion_pending',
    });
    await engine.background.runOnce();
    await expect(engine.getStreamConfig('basin-purge-one', 'gone')).rejects.toMatchObject({ code: 'stream_not_found' });
    await expect(engine.getStreamConfig('basin-purge-one', 'kept')).resolves.toMatchObject({ storageClass: 'express' });
    expect(engine.ctx.state.basins.has('basin-purge-one')).toBe(true);
  });

  it('runs by itself about a second after a deletion, not only at the next period', async () => {
    const { engine, clock } = await newEngine();
    await engine.createBasin('basin-triggered', basinConfig);
    await engine.createStream('basin-triggered', 's', {});
    await engine.deleteBasin('basin-triggered');
    await clock.advance(500);
    expect(engine.ctx.state.basins.has('basin-triggered')).toBe(true);
    await clock.advance(1_000);
    await until('the basin is removed', () => !engine.ctx.state.basins.has('basin-triggered'));
  });

  it('answers a runOnce made during a running pass with a fresh pass that sees later changes', async () => {
    const log = await GatedLog.create();
    const { engine } = await newEngine(log);
    await engine.createBasin('basin-first-one', basinConfig);
    await engine.createStream('basin-first-one', 's', {});
    await engine.deleteStream('basin-first-one', 's');
    await engine.createBasin('basin-later-one', basinConfig);

    log.closeGate();
    const first = engine.background.runOnce();
    await until('the first pass is purging', () => log.blocked === 1);
    // While the first pass is stuck purging, another basin is deleted and a pass requested.
    await engine.deleteBasin('basin-later-one');
    const second = engine.background.runOnce();
    log.openGate();
    await first;
    await second;
    expect(engine.ctx.state.basins.has('basin-later-one')).toBe(false);
    expect(engine.ctx.state.stream('basin-first-one', 's')).toBeUndefined();
  });
});

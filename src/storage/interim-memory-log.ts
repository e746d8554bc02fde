/**
 * INTERIM: a StreamLog kept entirely in process memory, used only until the chunk/manifest log
 * engine (storage issue) lands; that engine over the in-memory object store replaces this file.
 * It honours the seam's rules (ordered, atomic commits; reads see only resolved commits) so
 * the engine built on it does not change when the real log arrives.
 */
import type { BasinMeta, SequencedRecord } from '../engine/types.js';
import type { LogStatus, Mutation, ReadRequest, RecoveredState, RecoveredStream, StreamId, StreamLog } from './types.js';
import { meteredBytes } from '../engine/types.js';

interface StreamData {
  state: RecoveredStream;
  records: { record: SequencedRecord; expiresAtMs: number | null }[];
}

export class InterimMemoryLog implements StreamLog {
  private readonly basins = new Map<string, BasinMeta>();
  private readonly streams = new Map<StreamId, StreamData>();
  private tailOfQueue: Promise<void> = Promise.resolve();
  private closed = false;

  recovered(): RecoveredState {
    return { basins: new Map(this.basins), streams: [...this.streams.values()].map((s) => ({ ...s.state })) };
  }

  commit(mutations: Mutation[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('log closed'));
    // Apply on a later tick, in submission order, like a flush would.
    const done = this.tailOfQueue.then(
      () =>
        new Promise<void>((resolve) =>
          setImmediate(() => {
            for (const mutation of mutations) this.apply(mutation);
            resolve();
          }),
        ),
    );
    this.tailOfQueue = done;
    return done;
  }

  barrier(): Promise<void> {
    return this.commit([]);
  }

  private apply(mutation: Mutation): void {
    switch (mutation.kind) {
      case 'basin.put':
        this.basins.set(mutation.basin, mutation.meta);
        return;
      case 'basin.delete':
        this.basins.delete(mutation.basin);
        return;
      case 'stream.put': {
        const existing = this.streams.get(mutation.stream);
        if (existing) {
          existing.state.meta = mutation.meta;
        } else {
          this.streams.set(mutation.stream, {
            state: {
              id: mutation.stream,
              basin: mutation.basin,
              name: mutation.name,
              meta: mutation.meta,
              tail: { seqNum: 0, timestamp: 0n },
              fencingToken: '',
              trimPoint: 0,
              lastWriteMs: mutation.meta.createdAtMs,
            },
            records: [],
          });
        }
        return;
      }
      case 'stream.delete':
        this.streams.delete(mutation.stream);
        return;
      case 'append': {
        const data = this.streams.get(mutation.stream);
        if (!data) return;
        for (const record of mutation.records) data.records.push({ record, expiresAtMs: mutation.expiresAtMs });
        data.state.tail = mutation.tail;
        data.state.lastWriteMs = mutation.writtenAtMs;
        if (mutation.fencingToken !== undefined) data.state.fencingToken = mutation.fencingToken;
        if (mutation.trimPoint !== undefined && mutation.trimPoint > data.state.trimPoint) {
          data.state.trimPoint = mutation.trimPoint;
          data.records = data.records.filter((r) => r.record.seqNum >= data.state.trimPoint);
        }
        return;
      }
    }
  }

  async read(request: ReadRequest): Promise<SequencedRecord[]> {
    const data = this.streams.get(request.stream);
    if (!data) return [];
    const out: SequencedRecord[] = [];
    let bytes = 0;
    const start = Math.max(request.startSeqNum, data.state.trimPoint);
    for (const { record, expiresAtMs } of data.records) {
      if (record.seqNum < start) continue;
      if (record.seqNum >= request.endSeqNum || out.length >= request.maxRecords) break;
      if (expiresAtMs !== null && expiresAtMs <= request.nowMs) continue;
      const size = meteredBytes(record);
      if (bytes + size > request.maxBytes) break;
      bytes += size;
      out.push(record);
    }
    return out;
  }

  async seqNumForTimestamp(stream: StreamId, timestamp: bigint, endSeqNum: number, nowMs: number): Promise<number | null> {
    const data = this.streams.get(stream);
    if (!data) return null;
    for (const { record, expiresAtMs } of data.records) {
      if (record.seqNum >= endSeqNum) break;
      if (record.seqNum < data.state.trimPoint) continue;
      if (expiresAtMs !== null && expiresAtMs <= nowMs) continue;
      if (record.timestamp >= timestamp) return record.seqNum;
    }
    return null;
  }

  status(): LogStatus {
    return this.closed ? { ok: false, reason: 'closed' } : { ok: true };
  }

  onFailure(): void {}

  async close(): Promise<void> {
    await this.tailOfQueue;
    this.closed = true;
  }
}

/**
 * Prometheus metrics (served at GET /metrics). One registry per process; every layer records into
 * the handles defined here so an operator sees the whole write and read path in one place.
 * Names follow Prometheus conventions: base units (seconds, bytes), `_total` for counters.
 * The four `s2_append_*` histograms match the reference s2-lite.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { FoldedHistogram, type HistogramSlot } from './metrics-folded.js';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export const metrics = {
  // Reference s2-lite histograms (lite-internals 4.4).
  appendPermitLatency: new FoldedHistogram({
    name: 's2_append_permit_latency_seconds',
    help: 'Time an append waited for the in-flight bytes budget.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  }),
  appendAckLatency: new FoldedHistogram({
    name: 's2_append_ack_latency_seconds',
    help: 'Time from submitting an append to the streamer until it was durable and acknowledged.',
    buckets: latencyBuckets,
    registers: [registry],
  }),
  appendBatchRecords: new FoldedHistogram({
    name: 's2_append_batch_records',
    help: 'Records per append batch.',
    buckets: [1, 10, 50, 100, 250, 500, 1000],
    registers: [registry],
  }),
  appendBatchBytes: new FoldedHistogram({
    name: 's2_append_batch_bytes',
    help: 'Metered bytes per append batch.',
    buckets: [512, 1024, 4096, 16384, 65536, 262144, 524288, 1048576],
    registers: [registry],
  }),

  // Throughput (take rate() for per-second values).
  // The three below and `appendInflightBytes` are counted in `appendCounts` and published at scrape.
  appends: new Counter({
    name: 's2_appends_total',
    help: 'Acknowledged append batches.',
    registers: [registry],
    collect() {
      this.inc(takeCount('appends'));
    },
  }),
  appendRecords: new Counter({
    name: 's2_append_records_total',
    help: 'Acknowledged records.',
    registers: [registry],
    collect() {
      this.inc(takeCount('records'));
    },
  }),
  appendBytes: new Counter({
    name: 's2_append_bytes_total',
    help: 'Acknowledged metered bytes.',
    registers: [registry],
    collect() {
      this.inc(takeCount('bytes'));
    },
  }),
  appendErrors: new Counter({
    name: 's2_append_errors_total',
    help: 'Appends that failed, by error code.',
    labelNames: ['code'],
    registers: [registry],
  }),
  readRecords: new Counter({
    name: 's2_read_records_total',
    help: 'Records delivered to readers, by transport.',
    labelNames: ['transport'],
    registers: [registry],
  }),
  readBytes: new Counter({
    name: 's2_read_bytes_total',
    help: 'Metered bytes delivered to readers, by transport.',
    labelNames: ['transport'],
    registers: [registry],
  }),
  appendInflightBytes: new Gauge({
    name: 's2_append_inflight_bytes',
    help: 'Metered bytes of appends admitted but not yet acknowledged.',
    registers: [registry],
    collect() {
      this.set(appendCounts.inflightBytes);
    },
  }),

  // HTTP.
  // Recorded through `countHttpRequest`, folded in at scrape (see there).
  httpRequests: new Counter({
    name: 's2_http_requests_total',
    help: 'HTTP requests by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
    collect: () => foldHttpRequests(),
  }),
  // Observed into per-(method, route) slots by `countHttpRequest`, folded at scrape.
  httpRequestDuration: new FoldedHistogram({
    name: 's2_http_request_duration_seconds',
    help: 'HTTP request duration (for sessions: the whole session).',
    labelNames: ['method', 'route'],
    buckets: latencyBuckets,
    registers: [registry],
  }),
  sessionsOpen: new Gauge({
    name: 's2_sessions_open',
    help: 'Open streaming sessions by kind (sse_read, s2s_read, s2s_append).',
    labelNames: ['kind'],
    registers: [registry],
  }),
  followers: new Gauge({ name: 's2_followers', help: 'Read sessions following a tail live.', registers: [registry] }),
  followerLagFallbacks: new Counter({
    name: 's2_follower_lag_fallbacks_total',
    help: 'Times a live follower fell behind and went back to reading from storage.',
    registers: [registry],
  }),

  // Storage engine.
  flushDuration: new FoldedHistogram({
    name: 's2_storage_flush_duration_seconds',
    help: 'Time to make one chunk durable (put incl. retries).',
    buckets: latencyBuckets,
    registers: [registry],
  }),
  flushBytes: new FoldedHistogram({
    name: 's2_storage_flush_bytes',
    help: 'Size of each chunk written.',
    buckets: [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216],
    registers: [registry],
  }),
  flushRecords: new FoldedHistogram({
    name: 's2_storage_flush_records',
    help: 'Records per chunk (the group-commit factor).',
    buckets: [0, 1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000],
    registers: [registry],
  }),
  writerEpoch: new Gauge({
    name: 's2_storage_writer_epoch',
    help: 'Writer epoch of this instance (manifest).',
    registers: [registry],
  }),
  checkpoints: new Counter({
    name: 's2_storage_checkpoints_total',
    help: 'Checkpoints written.',
    registers: [registry],
  }),
  gcDeletedObjects: new Counter({
    name: 's2_storage_gc_deleted_objects_total',
    help: 'Objects deleted by garbage collection.',
    registers: [registry],
  }),
  blockCacheHits: new Counter({
    name: 's2_block_cache_hits_total',
    help: 'Segment block cache hits.',
    registers: [registry],
  }),
  blockCacheMisses: new Counter({
    name: 's2_block_cache_misses_total',
    help: 'Segment block cache misses.',
    registers: [registry],
  }),
  fsyncDuration: new FoldedHistogram({
    name: 's2_fsync_duration_seconds',
    help: 'Duration of fsync calls of the local-disk store.',
    buckets: latencyBuckets,
    registers: [registry],
  }),
  objectStoreRequests: new Counter({
    name: 's2_objectstore_requests_total',
    help: 'Object-store requests by operation and outcome.',
    labelNames: ['op', 'outcome'],
    registers: [registry],
  }),
  objectStoreRequestDuration: new FoldedHistogram({
    name: 's2_objectstore_request_duration_seconds',
    help: 'Object-store request latency by operation.',
    labelNames: ['op'],
    buckets: latencyBuckets,
    registers: [registry],
  }),
};

/**
 * The append path's counters in plain numbers, published into the metrics above when they are
 * read (a scrape). prom-client's `inc`/`dec` build a labels object and a result object per call,
 * five calls per append (W4/session profile); these are additions.
 */
export const appendCounts = {
  /** Acknowledged since the last scrape: batches, records, metered bytes. */
  appends: 0,
  records: 0,
  bytes: 0,
  /** Metered bytes admitted and not yet acknowledged (a level, not reset). */
  inflightBytes: 0,
};

function takeCount(name: 'appends' | 'records' | 'bytes'): number {
  const value = appendCounts[name];
  appendCounts[name] = 0;
  return value;
}

/** Gauges read from live state at scrape time. */
export interface StateGauges {
  basins(): number;
  streams(): number;
  activeStreamers(): number;
}

let stateSource: StateGauges | undefined;

new Gauge({
  name: 's2_basins',
  help: 'Basins (including those being deleted).',
  registers: [registry],
  collect() {
    this.set(stateSource?.basins() ?? 0);
  },
});
new Gauge({
  name: 's2_streams',
  help: 'Streams (including those being deleted).',
  registers: [registry],
  collect() {
    this.set(stateSource?.streams() ?? 0);
  },
});
new Gauge({
  name: 's2_active_streamers',
  help: 'Streams with an active streamer (recently written; reads build none).',
  registers: [registry],
  collect() {
    this.set(stateSource?.activeStreamers() ?? 0);
  },
});

/** The server calls this once so scrape-time gauges read its engine's state. */
export function bindStateGauges(source: StateGauges): void {
  stateSource = source;
}

export async function exposition(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/**
 * Requests counted in plain numbers per (method, route, status) and folded into the counter when
 * it is read (a scrape); durations go straight into the histogram's slot for (method, route)
 * (metrics-folded.ts). prom-client hashes the label object on every `inc`/`observe`, which with
 * the histogram was 4% of a unary append's CPU (docs/benchmarks.md, "W4"). Label sets are bounded
 * (route patterns, not raw paths).
 */
interface PendingRequests {
  method: string;
  route: string;
  status: number;
  count: number;
  duration: HistogramSlot;
}

/** By route, the (method, status) pairs seen on it: a short list, scanned without building a key. */
const httpPending = new Map<string, PendingRequests[]>();

export function countHttpRequest(method: string, route: string, status: number, seconds: number): void {
  let list = httpPending.get(route);
  if (!list) {
    list = [];
    httpPending.set(route, list);
  }
  let entry: PendingRequests | undefined;
  for (const candidate of list) {
    if (candidate.status === status && candidate.method === method) {
      entry = candidate;
      break;
    }
  }
  if (!entry) {
    entry = { method, route, status, count: 0, duration: metrics.httpRequestDuration.slot({ method, route }) };
    list.push(entry);
  }
  entry.count++;
  entry.duration.observe(seconds);
}

function foldHttpRequests(): void {
  for (const list of httpPending.values()) {
    for (const entry of list) {
      if (entry.count === 0) continue;
      const { method, route, status } = entry;
      metrics.httpRequests.inc({ method, route, status: String(status) }, entry.count);
      entry.count = 0;
    }
  }
}

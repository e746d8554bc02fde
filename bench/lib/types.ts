/**
 * The seam between the harness and the systems it measures. Every system (our server and each peer)
 * implements `Adapter`; the harness never knows which one it drives, so every workload has exactly
 * the same shape on every system.
 */

/** Serializable connection info: it crosses into the follower worker thread. */
export type Endpoint =
  | { kind: 'redis'; port: number }
  | { kind: 'nats'; port: number }
  | { kind: 'durable-streams'; port: number }
  /**
   * `live`: how live readers follow the tail: an S2S read session (binary frames of protobuf
   * batches, the counterpart of Redis XREAD and NATS push consumers), an SSE read session, or
   * unary long-poll reads.
   */
  | { kind: 's2lite'; baseUrl: string; basin: string; live?: LiveMode; encryptionKey?: string }
  /** A trivial node:http server answering every POST with a fixed body: the ceiling of unary HTTP/1.1 on Node. */
  | { kind: 'trivial'; port: number };

export type LiveMode = 's2s' | 'sse' | 'poll';

export interface Writer {
  /** Appends the records in one request (or the system's closest equivalent) and resolves on ack. */
  send(records: Buffer[]): Promise<void>;
  close(): Promise<void>;
}

export interface WriterOptions {
  /** Our server only: append over one S2S append session instead of unary requests. */
  session?: boolean;
}

export interface Subscription {
  close(): Promise<void>;
}

/**
 * Called once per delivered record. `head` holds at least the first 8 bytes of the body (the
 * producer's timestamp); `byteLength` is the body's full length. Adapters that receive an encoded
 * body (base64 in JSON) decode only the head, so the client's decoding cost does not swamp the
 * server's. `deliveredNs` is taken once per delivery chunk.
 */
export type OnRecord = (head: Uint8Array, byteLength: number, deliveredNs: number) => void;

export interface Adapter {
  createStream(stream: string): Promise<void>;
  deleteStream(stream: string): Promise<void>;
  /**
   * `window` is the number of requests the caller keeps in flight: size connection pools to it.
   * 0 means "one of many writers": share the adapter's common pool (W7's hundreds of streams).
   */
  writer(stream: string, window: number, options?: WriterOptions): Promise<Writer>;
  /** A live reader from the first record that follows the tail until closed. */
  follow(stream: string, recordBytes: number, onRecord: OnRecord): Promise<Subscription>;
  /** Reads from the first record up to the current tail, then returns. */
  catchup(stream: string, recordBytes: number, onRecord: OnRecord): Promise<void>;
  /**
   * Our server only: reads from the first record to the tail through one S2S read session (frames of
   * protobuf batches, no page round trips), then returns.
   */
  catchupSession?(stream: string, recordBytes: number, onRecord: OnRecord): Promise<void>;
  /** Resolves once the server answers requests (used after a restart). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Where a server's event-loop lag can be read: its Prometheus endpoint, or a loop probe file (SIGUSR2). */
export type LoopSource = { kind: 'metrics'; port: number } | { kind: 'signal'; file: string };

export type AdapterFactory = (endpoint: Endpoint) => Promise<Adapter>;

/** A server process the benchmark started; it is only ever stopped through this handle, by PID. */
export interface ServerHandle {
  readonly pid: number;
  readonly endpoint: Endpoint;
  /** Where the data lives (for the report); undefined in memory mode. */
  readonly dataDir?: string;
  /** Node servers: where their event-loop lag and GC time can be read (bench/lib/server-stats.ts). */
  readonly loop?: LoopSource;
  /** Graceful stop (SIGTERM or the server's own shutdown command), then SIGKILL after a grace period. */
  stop(): Promise<void>;
  /** SIGKILL, then start again on the same port and data; resolves when the process is listening. */
  crashAndRestart(): Promise<void>;
}

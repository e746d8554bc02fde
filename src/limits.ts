/**
 * Every limit the API and the engine enforce, in one place, with its unit last in the name and the
 * reason. api.md section 6.5 is the source for the protocol limits. The storage layer's own bounds
 * and tuning (chunk and checkpoint sizes, memory tail, caches, retry budget) are options of the
 * chunk log, with their defaults and reasons in storage/options.ts.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

/** Records per append batch (api.md 6.5). */
export const appendRecordsMax = 1000;
/** Metered bytes per append batch and per record (api.md 6.4-6.5). */
export const appendBatchBytesMax = MiB;
export const recordBytesMax = MiB;
/** Fencing tokens and request tokens (api.md 11.3). */
export const fencingTokenBytesMax = 36;
export const requestTokenBytesMax = 36;
/** `S2-Encryption-Key`: trimmed value length, 44 = base64 of 32 bytes (api.md 6.5). */
export const encryptionKeyHeaderCharsMax = 44;
/** Headers per record (a 3-byte count in the reference's stored format). */
export const recordHeadersMax = 0xffffff;

/** A unary read returns at most this much (api.md 8.5); sessions use it per batch. */
export const readBatchRecordsMax = 1000;
export const readBatchBytesMax = MiB;
/** Long-poll wait of a unary read is capped (api.md 8.5). */
export const unaryReadWaitSecsMax = 60;

/** List pages: 0 or anything above this becomes this (api.md 3.1). */
export const listLimitMax = 1000;

/** Names (api.md 11). */
export const basinNameBytesMin = 8;
export const basinNameBytesMax = 48;
export const streamNameBytesMax = 512;

/**
 * Buffered request bodies (JSON/protobuf unary). The reference relies on its framework's
 * 2 MiB default; a 1 MiB metered batch in base64 JSON can approach that, so keep it.
 */
export const requestBodyBytesMax = 2 * MiB;

/** S2S frames: the 3-byte length counts flag + payload (api.md 9.1). */
export const s2sFrameBytesMax = 2 * MiB;
/** Decompressed S2S payloads must also fit (api.md 9.2). */
export const s2sPayloadBytesMax = 2 * MiB - 1;
/** Messages smaller than this are never compressed (api.md 9.3). */
export const compressionThresholdBytes = KiB;

/** Default global budget of metered bytes of appends admitted but not yet acknowledged. */
export const appendInflightBytesDefault = 128 * MiB;
/** The budget is clamped to at least this, so one maximal batch always fits. */
export const appendInflightBytesMin = MiB;

/** Read sessions send a heartbeat after a random gap in this range while following (api.md 8.3). */
export const heartbeatGapMsMin = 5_000;
export const heartbeatGapMsMax = 15_000;

/**
 * A live follower may fall this many batches behind before it is dropped back to reading from
 * storage, so a slow reader never makes the writer buffer without bound.
 */
export const followerLagBatchesMax = 25;

/** A streamer with no activity and no users for this long is released. */
export const streamerDormantMs = 60_000;

/** Background tasks (trim, delete-on-empty, basin deletion) run about this often, +-10%. */
export const backgroundTaskPeriodMs = 60_000;

/** Grace period for in-flight work on SIGINT/SIGTERM. */
export const shutdownGraceMs = 10_000;

/**
 * Streaming sessions (SSE and S2S reads, S2S appends) open at once per server. Each holds a bounded
 * amount of memory (about one message or frame plus socket buffers), so this bounds what idle or
 * slow clients can pin in total; beyond it a new session gets 503 `unavailable` before streaming.
 */
export const streamingSessionsMax = 1024;
/**
 * Inputs of one S2S append session admitted but not yet acknowledged. Beyond it the session stops
 * reading its body until acks go out (bytes are bounded by the global in-flight budget already).
 */
export const appendSessionInputsInflightMax = 1000;

/** Access tokens (issue 18, docs/security.md). Ids are 1-96 bytes (api.md 11.3). */
export const accessTokenIdBytesMax = 96;
/** Random bytes in an issued token's secret: 256 bits. */
export const accessTokenSecretBytes = 32;
/** Longest bearer token read from `Authorization`; longer is 401 before any hashing. */
export const bearerTokenCharsMax = 512;
/** A root token given by the operator must be at least this long (a generated one has 47). */
export const rootTokenCharsMin = 32;

// Per-connection and per-request bounds against hostile or broken clients (docs/configuration.md).

/**
 * HTTP/1.1 answers in order, so a connection's pipelined requests are handled one at a time; this
 * many more may wait parsed behind it, after which the connection is not read until responses
 * drain. (Handled all at once, 1000 pipelined 1 MiB reads built 1000 responses for a client that
 * read none.)
 */
export const http1PipelinedRequestsMax = 16;
/**
 * HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: what S2 advertises, and what the TypeScript SDK's
 * connection pool assumes (it opens another connection beyond 100 streams).
 */
export const http2StreamsPerConnectionMax = 100;
/**
 * Streaming sessions one connection may hold, so one client cannot take `streamingSessionsMax`
 * by itself: the SDK's 100 streams per connection may all be sessions. Beyond: 503 `unavailable`.
 */
export const streamingSessionsPerConnectionMax = http2StreamsPerConnectionMax;
/**
 * Request bodies being received and buffered, in bytes, across all connections: unary bodies (each
 * charged its declared length, or chunk by chunk without one) and the incomplete input frames of S2S
 * append sessions. Beyond: 503 `unavailable`.
 */
export const requestBodiesBytesMax = 64 * MiB;
/** A unary request body (or an S2S input frame) must arrive whole within this time, or 408 `request_timeout`. */
export const requestBodyTimeoutMs = 30_000;
/** ...and without a pause between two chunks (or, in an S2S append session, inside a frame) longer than this. */
export const requestBodyIdleTimeoutMs = 10_000;
/** JSON nesting deeper than this is refused with 400 `bad_json` (serde_json's recursion limit). */
export const jsonDepthMax = 128;
/**
 * JSON values (array items and object members) in a control-plane body: configs have a few dozen;
 * beyond: 400 `bad_json`, before anything is built. `JSON.parse` spent up to a quarter of a second
 * building 2 MiB of tiny values or distinct keys. Record bodies skip unknown fields without
 * building them and need no such bound.
 */
export const jsonControlPlaneValuesMax = 10_000;
/**
 * Local-disk mode: file handles of objects (segments) kept open between ranged reads, so a catch-up
 * read does not open, stat and close a segment file per 1 MiB run. Least recently used close first,
 * and any unused for 5 s.
 */
export const localReadHandlesMax = 64;
/**
 * Catch-up responses (S2S frames, unary protobuf pages) of 64 KiB or more are assembled in reusable
 * buffers of at most this size (api/codec/out-buffers.ts; new ones are rounded up to 256 KiB): any
 * S2S frame fits (3-byte length + s2sFrameBytesMax); a larger message gets memory of its own.
 * Fresh 1 MiB buffers per message cost page faults and GC.
 */
export const outBufferBytes = s2sFrameBytesMax + 4;
/** Idle response buffers kept for reuse, at most (at most outBuffersKept x outBufferBytes of memory). */
export const outBuffersKept = 4;
/**
 * Live S2S frames (the records of one group commit, shared by every follower of the stream) of at
 * most this size are encoded into reusable buffers (api/sessions/s2s-read.ts), at most this many
 * kept idle: at most 4 MiB. A live frame is usually one commit's worth, far below the limit.
 */
export const liveFrameBufferBytes = 256 * 1024;
export const liveFrameBuffersKept = 16;

/**
 * V8's old generation is not fully collected while it holds less than this (`node
 * --initial-old-space-size`, which V8 also keeps as the floor of the old generation's allocation
 * limit). The server allocates 13-22 KB of off-heap memory per 8 KiB record (request bodies,
 * segments, frames), which V8 counts against the old generation's headroom: with its default
 * limit of about twice the 20 MB live heap, that started a Mark-Compact every 0.4-0.7 s at 10 MiB/s,
 * and those pauses were most of the event loop's stalls. The flag must be given to node before the
 * heap exists (v8.setFlagsFromString at startup has no effect; NODE_OPTIONS refuses it), so
 * `npm start` and `npm run dev` carry it (docs/configuration.md, "The V8 heap floor", also for the
 * bin; test/cli/node-flags.test.ts keeps them equal to this).
 */
export const serverOldSpaceFloorMiB = 128;

/**
 * Local disk: a new write-ahead log file (64 MiB) is zero-filled with an fdatasync after every this
 * many bytes, not only at its end. The active log's fdatasync, which every acknowledgement waits
 * for, shares the device's flush with whatever else is dirty: one sync of the whole file held
 * acknowledgements for 45-60 ms. Bounded writeback (as PostgreSQL's checkpoint_flush_after) keeps
 * the dirty zeros to one slice.
 */
export const walZeroFillSyncBytes = 2 * MiB;

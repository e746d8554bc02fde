/**
 * Reading and appending records through the API: unary reads for paging (api.md 8.5), an SSE
 * read that follows the tail (api.md 8.4), and unary appends (api.md 7.1). Records travel as
 * base64 (api.md 6.6) and positions as bigints (api.md 1.9).
 */
import { api, apiHeaders, apiUrl, ApiError, errorFrom, readResponse } from './api.js';
import { fromBase64, toBase64, type ConsoleRecord } from './bytes.js';
import { asBigInt, parseJson, type Json } from './json.js';
import { readEvents } from './sse.js';

export interface Position {
  seqNum: bigint;
  timestamp: bigint;
}

export interface StreamRef {
  basin: string;
  stream: string;
  /** S2-Encryption-Key for streams with a cipher (kept in memory only). */
  encryptionKey?: string;
}

const recordsPath = (ref: StreamRef) => `/v1/streams/${encodeURIComponent(ref.stream)}/records`;

function refHeaders(ref: StreamRef): Record<string, string> {
  const headers: Record<string, string> = { 's2-format': 'base64' };
  if (ref.encryptionKey) headers['s2-encryption-key'] = ref.encryptionKey;
  return headers;
}

export function positionOf(json: Json | undefined): Position {
  const fields = json !== null && typeof json === 'object' && !Array.isArray(json) ? json : {};
  return { seqNum: asBigInt(fields.seq_num), timestamp: asBigInt(fields.timestamp) };
}

function recordOf(json: Json): ConsoleRecord {
  const fields = json as Record<string, Json>;
  const headers = ((fields.headers ?? []) as [string, string][]).map(
    ([name, value]) => [fromBase64(name), fromBase64(value)] as [Uint8Array, Uint8Array],
  );
  return {
    seqNum: asBigInt(fields.seq_num),
    timestamp: asBigInt(fields.timestamp),
    headers,
    body: fromBase64(typeof fields.body === 'string' ? fields.body : ''),
  };
}

function recordsOf(batch: Json): ConsoleRecord[] {
  const records = (batch as Record<string, Json>)?.records;
  return Array.isArray(records) ? records.map(recordOf) : [];
}

export async function checkTail(ref: Pick<StreamRef, 'basin' | 'stream'>): Promise<Position> {
  const body = await api<Record<string, Json>>({
    path: `/v1/streams/${encodeURIComponent(ref.stream)}/records/tail`,
    basin: ref.basin,
  });
  return positionOf(body.tail);
}

export type ReadStart = { seqNum: bigint } | { timestamp: bigint } | { tailOffset: bigint };

export type ReadResult = { kind: 'records'; records: ConsoleRecord[] } | { kind: 'beyond-tail'; tail: Position };

/** One page of records; a start at or past the tail is not an error here but its own result (416, api.md 8.1). */
export async function readPage(ref: StreamRef, start: ReadStart, count: number): Promise<ReadResult> {
  const query = {
    seq_num: 'seqNum' in start ? start.seqNum : undefined,
    timestamp: 'timestamp' in start ? start.timestamp : undefined,
    tail_offset: 'tailOffset' in start ? start.tailOffset : undefined,
    count,
  };
  try {
    const batch = await api({ path: recordsPath(ref), basin: ref.basin, query, headers: refHeaders(ref) });
    return { kind: 'records', records: recordsOf(batch) };
  } catch (error) {
    if (error instanceof ApiError && error.status === 416) {
      return { kind: 'beyond-tail', tail: positionOf((error.body as Record<string, Json>)?.tail) };
    }
    throw error;
  }
}

export interface FollowHandlers {
  /** A batch; `tail` is set for batches delivered while following (api.md 8.3). */
  records(records: ConsoleRecord[], tail: Position | undefined): void;
  heartbeat(tail: Position): void;
}

/**
 * Follows the stream from `seqNum` (or from the tail) until aborted or the server ends the read.
 * Resolves when the read ends normally; rejects with ApiError for an error before or during it.
 */
export async function follow(ref: StreamRef, seqNum: bigint | undefined, signal: AbortSignal, on: FollowHandlers) {
  const headers = apiHeaders({ basin: ref.basin, headers: { ...refHeaders(ref), accept: 'text/event-stream' } });
  const query = seqNum === undefined ? { tail_offset: 0 } : { seq_num: seqNum };
  let response: Response;
  try {
    response = await fetch(apiUrl(recordsPath(ref), query), {
      headers,
      signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') return;
    throw new ApiError(0, `Cannot reach the server: ${(error as Error).message}`);
  }
  if (!response.ok || !response.body) {
    await readResponse(response);
    throw new ApiError(response.status, `HTTP ${response.status}`);
  }
  let failure: ApiError | undefined;
  try {
    await readEvents(response.body, (event) => {
      if (event.event === 'batch') {
        const batch = parseJson(event.data) as Record<string, Json>;
        on.records(recordsOf(batch), batch.tail === undefined ? undefined : positionOf(batch.tail));
      } else if (event.event === 'ping') {
        on.heartbeat(positionOf((parseJson(event.data) as Record<string, Json>).tail));
      } else if (event.event === 'error') {
        failure = errorFrom(0, '', parseJson(event.data));
      }
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError' || signal.aborted) return;
    throw new ApiError(0, `The connection ended: ${(error as Error).message}`);
  }
  if (failure) throw failure;
}

export interface AppendInput {
  records: { headers: [Uint8Array, Uint8Array][]; body: Uint8Array }[];
  matchSeqNum?: bigint;
  fencingToken?: string;
}

export interface AppendAck {
  start: Position;
  end: Position;
  tail: Position;
}

/** Appends one batch; a failed condition comes back as ApiError with status 412 and the API's body. */
export async function append(ref: StreamRef, input: AppendInput): Promise<AppendAck> {
  const body = {
    records: input.records.map((record) => ({
      headers: record.headers.map(([name, value]) => [toBase64(name), toBase64(value)]),
      body: toBase64(record.body),
    })),
    match_seq_num: input.matchSeqNum,
    fencing_token: input.fencingToken,
  };
  const ack = await api<Record<string, Json>>({
    method: 'POST',
    path: recordsPath(ref),
    basin: ref.basin,
    body,
    headers: refHeaders(ref),
  });
  return { start: positionOf(ack.start), end: positionOf(ack.end), tail: positionOf(ack.tail) };
}

/** The words for a 412 (api.md 4.8): which condition failed and what the stream holds now. */
export function describeConditionFailure(error: ApiError): string | undefined {
  if (error.status !== 412) return undefined;
  const body = error.body as Record<string, Json> | null;
  if (body && 'seq_num_mismatch' in body) {
    return `Condition failed: match_seq_num does not match; the stream's next seq_num is ${String(body.seq_num_mismatch)}.`;
  }
  if (body && 'fencing_token_mismatch' in body) {
    return `Condition failed: wrong fencing token; the stream's current token is "${String(body.fencing_token_mismatch)}".`;
  }
  return 'Condition failed.';
}

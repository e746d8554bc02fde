/**
 * Validation of append input (api.md 6.1-6.5, 7.1 step 1): batch limits, header rules and the
 * exact encodings of the `fence` and `trim` command records (api.md 6.3). Runs before the stream
 * is touched, so an invalid batch never auto-creates a stream and nothing is half-appended.
 */
import { errors } from '../domain/errors.js';
import {
  appendBatchBytesMax,
  appendRecordsMax,
  fencingTokenBytesMax,
  recordBytesMax,
  recordHeadersMax,
} from '../limits.js';
import type { AppendInput, AppendRecord, SequencedRecord, TimestampingMode } from '../domain/types.js';
import { meteredBytes } from '../domain/types.js';

/** What a command record asks for, decoded once at validation time. */
export type Command = { kind: 'fence'; token: string } | { kind: 'trim'; trimPoint: number };

/** An AppendInput that passed validation, with its metered size and decoded commands. */
export interface ValidatedAppend {
  records: AppendRecord[];
  /** Parallel to `records`: the command of a command record, else undefined. Null when no record is one. */
  commands: (Command | undefined)[] | null;
  meteredBytes: number;
  matchSeqNum?: number;
  fencingToken?: string;
  /** Encrypted AES-256-GCM streams (engine/encryption): envelope records may not get seq_nums above `max`. */
  seqNumCap?: { lastEnvelope: number; max: number };
}

const fenceName = new TextEncoder().encode('fence');
const trimName = new TextEncoder().encode('trim');
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Decodes a command record's payload, or undefined for an envelope record; throws 422 if invalid. */
export function parseCommand(record: { headers: AppendRecord['headers']; body: Uint8Array }): Command | undefined {
  const headers = record.headers;
  if (headers.length === 1 && headers[0]![0].length === 0) {
    const value = headers[0]![1];
    if (bytesEqual(value, fenceName)) {
      let token: string;
      try {
        token = utf8Strict.decode(record.body);
      } catch {
        throw errors.invalid('invalid `fence` command: invalid UTF-8');
      }
      if (record.body.length > fencingTokenBytesMax) {
        throw errors.invalid(
          `invalid \`fence\` command: fencing token must not exceed ${fencingTokenBytesMax} bytes in length`,
        );
      }
      return { kind: 'fence', token };
    }
    if (bytesEqual(value, trimName)) {
      if (record.body.length !== 8) {
        throw errors.invalid(
          `invalid \`trim\` command: earliest sequence number to trim to was ${record.body.length} bytes, must be 8`,
        );
      }
      const view = new DataView(record.body.buffer, record.body.byteOffset, 8);
      const requested = view.getBigUint64(0, false);
      // Seq nums never reach 2^53 (types.ts), so saturating keeps min(requested, seq + 1) exact.
      return { kind: 'trim', trimPoint: requested > maxSafe ? Number.MAX_SAFE_INTEGER : Number(requested) };
    }
    throw errors.invalid('unknown command');
  }
  if (headers.length > recordHeadersMax) throw errors.invalid('invalid header: too many');
  for (const [name] of headers) {
    if (name.length === 0) throw errors.invalid('invalid header: empty name');
  }
  return undefined;
}

/** Validates a batch in the order the reference does (count, each record, total size, token). */
export function validateAppendInput(input: AppendInput): ValidatedAppend {
  const records = input.records;
  if (records.length === 0) throw errors.invalid('record batch must not be empty');
  if (records.length > appendRecordsMax) {
    throw errors.invalid(`record batch must not exceed ${appendRecordsMax} records`);
  }
  let total = 0;
  let commands: (Command | undefined)[] | null = null;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const command = parseCommand(record);
    if (command) {
      commands ??= new Array<Command | undefined>(records.length).fill(undefined);
      commands[i] = command;
    }
    const size = meteredBytes(record);
    if (size > recordBytesMax) throw errors.invalid('record must have metered size less than 1 MiB');
    total += size;
  }
  if (total > appendBatchBytesMax) throw errors.invalid('record batch must not exceed a metered size of 1 MiB');
  // JSON bodies already refused an over-long token as bad_json; protobuf/S2S get 422 (api.md 6.5).
  if (input.fencingToken !== undefined && Buffer.byteLength(input.fencingToken, 'utf8') > fencingTokenBytesMax) {
    throw errors.invalid(`fencing token must not exceed ${fencingTokenBytesMax} bytes in length`);
  }
  const validated: ValidatedAppend = { records, commands, meteredBytes: total };
  if (input.matchSeqNum !== undefined) validated.matchSeqNum = input.matchSeqNum;
  if (input.fencingToken !== undefined) validated.fencingToken = input.fencingToken;
  return validated;
}

/**
 * Assigns seq_nums from `next` and timestamps per api.md 7.3: the mode picks the client's or the
 * arrival time (`now`, read once per batch), a future time is capped to `now` unless `uncapped`,
 * then the monotonic clamp raises it to the running maximum, which starts at the previous
 * record's timestamp (so it carries across batches and, via the durable tail, restarts).
 * Throws 422 if `client-require` finds a record without a timestamp; assigns nothing then.
 */
export function assignTimestamps(
  records: AppendRecord[],
  next: { seqNum: number; timestamp: bigint },
  timestamping: { mode: TimestampingMode; uncapped: boolean },
  nowMs: number,
): SequencedRecord[] {
  const now = BigInt(nowMs);
  const out = new Array<SequencedRecord>(records.length);
  let max = next.timestamp;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    let timestamp: bigint;
    if (timestamping.mode === 'arrival') {
      timestamp = now;
    } else if (record.timestamp !== undefined) {
      timestamp = record.timestamp;
    } else if (timestamping.mode === 'client-require') {
      throw errors.invalid('record timestamp was required but was missing');
    } else {
      timestamp = now;
    }
    if (!timestamping.uncapped && timestamp > now) timestamp = now;
    if (timestamp < max) timestamp = max;
    else max = timestamp;
    out[i] = { seqNum: next.seqNum + i, timestamp, headers: record.headers, body: record.body };
  }
  return out;
}

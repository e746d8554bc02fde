/**
 * The history format of verification.md (S2's own, from s2-verification): JSON Lines, one event per
 * line, in real-time order.
 *
 *   {"event":{"Start":{"Append":{"num_records":2,"record_hashes":[1,2],"set_fencing_token":null,
 *     "fencing_token":null,"match_seq_num":0}}},"client_id":1,"op_id":7}
 *   {"event":{"Finish":{"AppendSuccess":{"tail":2}}},"client_id":1,"op_id":7}
 *   {"event":{"Start":"Read"},"client_id":2,"op_id":8}
 *   {"event":{"Finish":{"ReadSuccess":{"tail":2,"stream_hash":9876543210}}},"client_id":2,"op_id":8}
 *   {"event":{"Start":"CheckTail"},...}   {"event":{"Finish":{"CheckTailSuccess":{"tail":2}}},...}
 *   "AppendDefiniteFailure" | "AppendIndefiniteFailure" | "ReadFailure" | "CheckTailFailure"
 *
 * Every u64 (hashes, tails, ids) is parsed without loss (`util/json.ts`) and held as `bigint`.
 */
import { parseJson, stringifyJson } from '../util/json.js';

export interface AppendCall {
  kind: 'append';
  numRecords: number;
  recordHashes: bigint[];
  /** Set when the batch is a single `fence` command record: the token it sets. */
  setFencingToken: string | null;
  /** The batch's fencing token condition. */
  fencingToken: string | null;
  /** The batch's match_seq_num condition. */
  matchSeqNum: bigint | null;
}

export type Call = AppendCall | { kind: 'read' } | { kind: 'checkTail' };

export type Return =
  | { kind: 'appendSuccess'; tail: bigint }
  | { kind: 'appendDefiniteFailure' }
  | { kind: 'appendIndefiniteFailure' }
  | { kind: 'readSuccess'; tail: bigint; streamHash: bigint }
  | { kind: 'readFailure' }
  | { kind: 'checkTailSuccess'; tail: bigint }
  | { kind: 'checkTailFailure' };

export type HistoryEvent =
  | { type: 'start'; clientId: bigint; opId: bigint; call: Call }
  | { type: 'finish'; clientId: bigint; opId: bigint; ret: Return };

/** The operation kind a return belongs to, so a checker can pair them. */
export function returnOpKind(ret: Return): Call['kind'] {
  if (ret.kind.startsWith('append')) return 'append';
  if (ret.kind.startsWith('read')) return 'read';
  return 'checkTail';
}

// ---------------------------------------------------------------------------------------------
// Writing

const unitReturns: Record<string, string> = {
  appendDefiniteFailure: '"AppendDefiniteFailure"',
  appendIndefiniteFailure: '"AppendIndefiniteFailure"',
  readFailure: '"ReadFailure"',
  checkTailFailure: '"CheckTailFailure"',
};

const jsonOrNull = (value: string | bigint | null) =>
  value === null ? 'null' : typeof value === 'bigint' ? String(value) : JSON.stringify(value);

function callJson(call: Call): string {
  switch (call.kind) {
    case 'read':
      return '"Read"';
    case 'checkTail':
      return '"CheckTail"';
    case 'append':
      return (
        `{"Append":{"num_records":${call.numRecords},"record_hashes":[${call.recordHashes.join(',')}],` +
        `"set_fencing_token":${jsonOrNull(call.setFencingToken)},"fencing_token":${jsonOrNull(call.fencingToken)},` +
        `"match_seq_num":${jsonOrNull(call.matchSeqNum)}}}`
      );
  }
}

function returnJson(ret: Return): string {
  switch (ret.kind) {
    case 'appendSuccess':
      return `{"AppendSuccess":{"tail":${ret.tail}}}`;
    case 'readSuccess':
      return `{"ReadSuccess":{"tail":${ret.tail},"stream_hash":${ret.streamHash}}}`;
    case 'checkTailSuccess':
      return `{"CheckTailSuccess":{"tail":${ret.tail}}}`;
    default:
      return unitReturns[ret.kind]!;
  }
}

/** One line of the history file (without the newline), field order as in verification.md. */
export function formatEvent(event: HistoryEvent): string {
  const body = event.type === 'start' ? `{"Start":${callJson(event.call)}}` : `{"Finish":${returnJson(event.ret)}}`;
  return `{"event":${body},"client_id":${event.clientId},"op_id":${event.opId}}`;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** A malformed history line: the message names the line and what is wrong. */
export class HistoryFormatError extends Error {
  override name = 'HistoryFormatError';
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function u64(value: unknown, what: string): bigint {
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) {
    const n = BigInt(value);
    if (n >= 0n && n <= 0xffffffffffffffffn) return n;
  }
  throw new HistoryFormatError(`${what} must be an unsigned 64-bit integer, got ${stringifyJson(value)}`);
}

function optionalU64(value: unknown, what: string): bigint | null {
  return value === null || value === undefined ? null : u64(value, what);
}

function optionalString(value: unknown, what: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new HistoryFormatError(`${what} must be a string or null`);
  return value;
}

/** The single key of a `{"Variant": {...}}` object, or the string of a unit variant. */
function variant(value: unknown, what: string): [string, unknown] {
  if (typeof value === 'string') return [value, undefined];
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1) return [keys[0]!, value[keys[0]!]];
  }
  throw new HistoryFormatError(`${what} must be a string or an object with one key`);
}

function parseCall(value: unknown): Call {
  const [name, body] = variant(value, 'Start');
  if (name === 'Read') return { kind: 'read' };
  if (name === 'CheckTail') return { kind: 'checkTail' };
  if (name !== 'Append' || !isObject(body)) throw new HistoryFormatError(`unknown Start event ${stringifyJson(value)}`);
  const numRecords = u64(body.num_records, 'num_records');
  if (!Array.isArray(body.record_hashes)) throw new HistoryFormatError('record_hashes must be an array');
  const recordHashes = body.record_hashes.map((h) => u64(h, 'a record hash'));
  if (BigInt(recordHashes.length) !== numRecords) {
    throw new HistoryFormatError(`num_records is ${numRecords} but record_hashes has ${recordHashes.length} values`);
  }
  return {
    kind: 'append',
    numRecords: recordHashes.length,
    recordHashes,
    setFencingToken: optionalString(body.set_fencing_token, 'set_fencing_token'),
    fencingToken: optionalString(body.fencing_token, 'fencing_token'),
    matchSeqNum: optionalU64(body.match_seq_num, 'match_seq_num'),
  };
}

function parseReturn(value: unknown): Return {
  const [name, body] = variant(value, 'Finish');
  const fields = isObject(body) ? body : {};
  switch (name) {
    case 'AppendSuccess':
      return { kind: 'appendSuccess', tail: u64(fields.tail, 'AppendSuccess.tail') };
    case 'ReadSuccess':
      return {
        kind: 'readSuccess',
        tail: u64(fields.tail, 'ReadSuccess.tail'),
        streamHash: u64(fields.stream_hash, 'ReadSuccess.stream_hash'),
      };
    case 'CheckTailSuccess':
      return { kind: 'checkTailSuccess', tail: u64(fields.tail, 'CheckTailSuccess.tail') };
    case 'AppendDefiniteFailure':
      return { kind: 'appendDefiniteFailure' };
    case 'AppendIndefiniteFailure':
      return { kind: 'appendIndefiniteFailure' };
    case 'ReadFailure':
      return { kind: 'readFailure' };
    case 'CheckTailFailure':
      return { kind: 'checkTailFailure' };
    default:
      throw new HistoryFormatError(`unknown Finish event ${stringifyJson(value)}`);
  }
}

/** Parses one history line; throws `HistoryFormatError` (without the line number) if malformed. */
export function parseEvent(line: string): HistoryEvent {
  let json: unknown;
  try {
    json = parseJson(line);
  } catch (error) {
    throw new HistoryFormatError(`not JSON: ${(error as Error).message}`);
  }
  if (!isObject(json) || !isObject(json.event))
    throw new HistoryFormatError('expected {"event": ..., "client_id": ..., "op_id": ...}');
  const clientId = u64(json.client_id, 'client_id');
  const opId = u64(json.op_id, 'op_id');
  const [name, body] = variant(json.event, 'event');
  if (name === 'Start') return { type: 'start', clientId, opId, call: parseCall(body) };
  if (name === 'Finish') return { type: 'finish', clientId, opId, ret: parseReturn(body) };
  throw new HistoryFormatError(`event must be Start or Finish, got ${name}`);
}

export interface ParsedLine {
  /** 1-based line number in the file. */
  line: number;
  text: string;
  event: HistoryEvent;
}

/** Parses a whole JSONL history; blank lines are skipped. Errors name the line. */
export function parseHistory(text: string): ParsedLine[] {
  const out: ParsedLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    try {
      out.push({ line: i + 1, text: raw, event: parseEvent(raw) });
    } catch (error) {
      if (error instanceof HistoryFormatError) throw new HistoryFormatError(`line ${i + 1}: ${error.message}`);
      throw error;
    }
  }
  return out;
}

/**
 * Helpers for the black-box records suite. Everything goes over HTTP to whatever base URL
 * `startServer()` gives (S2_TEST_BASE_URL targets another S2 implementation), over HTTP/1.1 or
 * h2c. JSON bodies are parsed losslessly (u64s beyond 2^53 become bigint) and protobuf is
 * encoded/decoded with protobufjs from the wire contract, independently of the server's codecs.
 */
import { fileURLToPath } from 'node:url';
import { isSafeNumber, parse } from 'lossless-json';
import protobuf from 'protobufjs';
import { expect } from 'vitest';
import { request, uniqueBasin, type Protocol, type RawResponse } from '../../support/http.js';

export type Json = any;  

/**
 * Lossless JSON: integers beyond 2^53 come back as bigint. lossless-json is slow on large
 * bodies, so it is used only when a long number literal may be present.
 */
export function parseJson(text: string): Json {
  if (!/[:[,]\s*-?\d{16,}/.test(text)) return JSON.parse(text);
  return parse(text, null, (value) => (/^-?\d+$/.test(value) && !isSafeNumber(value) ? BigInt(value) : Number(value)));
}

/** JSON with bigint written as bare numbers. */
export function toJson(value: unknown): string {
  const marked = JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `__big__${v}__` : v));
  return marked.replace(/"__big__(\d+)__"/g, '$1');
}

const protoPath = fileURLToPath(new URL('../../../proto/s2/v1/s2.proto', import.meta.url));
const root = protobuf.loadSync(protoPath);
export const pb = {
  AppendInput: root.lookupType('s2.v1.AppendInput'),
  AppendAck: root.lookupType('s2.v1.AppendAck'),
  ReadBatch: root.lookupType('s2.v1.ReadBatch'),
};

/** Encodes a protobuf message from a plain object (u64s as strings or numbers, bytes as Uint8Array). */
export function encodePb(type: protobuf.Type, value: object): Buffer {
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

/** Decodes a protobuf message with u64s as decimal strings and bytes as Buffers. */
export function decodePb(type: protobuf.Type, bytes: Uint8Array): Json {
  return type.toObject(type.decode(bytes), { longs: String, bytes: Buffer, defaults: false, arrays: true });
}

export class Client {
  constructor(
    readonly baseUrl: string,
    readonly protocol: Protocol,
    readonly basin: string,
  ) {}

  req(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string | Buffer,
  ): Promise<RawResponse> {
    return request(this.baseUrl, {
      method,
      path,
      protocol: this.protocol,
      headers: { 's2-basin': this.basin, ...headers },
      ...(body === undefined ? {} : { body }),
    });
  }

  /** POST a JSON AppendInput (object or raw text). */
  append(stream: string, body: object | string, headers: Record<string, string> = {}): Promise<RawResponse> {
    return this.req(
      'POST',
      `/v1/streams/${encodeURIComponent(stream)}/records`,
      { 'content-type': 'application/json', ...headers },
      typeof body === 'string' ? body : toJson(body),
    );
  }

  /** Appends JSON and expects 200; returns the ack. */
  async appendOk(stream: string, body: object, headers: Record<string, string> = {}): Promise<Json> {
    const res = await this.append(stream, body, headers);
    expect(res.status, res.text).toBe(200);
    return parseJson(res.text);
  }

  read(stream: string, query = '', headers: Record<string, string> = {}): Promise<RawResponse> {
    return this.req('GET', `/v1/streams/${encodeURIComponent(stream)}/records${query ? `?${query}` : ''}`, headers);
  }

  async readOk(stream: string, query = '', headers: Record<string, string> = {}): Promise<Json> {
    const res = await this.read(stream, query, headers);
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    return parseJson(res.text);
  }

  async tail(stream: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    return this.req('GET', `/v1/streams/${encodeURIComponent(stream)}/records/tail`, headers);
  }

  async tailOk(stream: string): Promise<{ seq_num: number; timestamp: number | bigint }> {
    const res = await this.tail(stream);
    expect(res.status, res.text).toBe(200);
    return parseJson(res.text).tail;
  }

  async createStream(stream: string, config: object = {}): Promise<void> {
    const res = await this.req(
      'POST',
      '/v1/streams',
      { 'content-type': 'application/json' },
      toJson({ stream, config }),
    );
    expect(res.status, res.text).toBe(201);
  }

  async deleteStream(stream: string): Promise<void> {
    const res = await this.req('DELETE', `/v1/streams/${encodeURIComponent(stream)}`);
    expect(res.status, res.text).toBe(202);
  }
}

/** Creates a fresh basin with the given flags and returns a client bound to it. */
export async function newBasin(
  baseUrl: string,
  protocol: Protocol,
  config: { create_stream_on_append?: boolean; create_stream_on_read?: boolean; default_stream_config?: object } = {},
): Promise<Client> {
  const basin = uniqueBasin('rec');
  const res = await request(baseUrl, {
    method: 'POST',
    path: '/v1/basins',
    protocol,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ basin, config }),
  });
  expect(res.status, res.text).toBe(201);
  return new Client(baseUrl, protocol, basin);
}

let streamCounter = 0;
export function uniqueStream(prefix = 's'): string {
  streamCounter += 1;
  return `${prefix}-${streamCounter}`;
}

/** Expects an S2 error response with this status and code. */
export function expectError(res: RawResponse, status: number, code: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.json().code).toBe(code);
}

export const b64 = (text: string | Uint8Array) => Buffer.from(text).toString('base64');

export function trimBody(point: bigint): string {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64BE(point);
  return buf.toString('base64');
}

/** Metered size of a record (api.md 6.4) with string parts, for limit tests. */
export function metered(body: string, headers: [string, string][] = []): number {
  return (
    8 +
    2 * headers.length +
    headers.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0) +
    Buffer.byteLength(body)
  );
}

export const bodies = (batch: Json): string[] => batch.records.map((r: Json) => r.body ?? '');
export const seqNums = (batch: Json): number[] => batch.records.map((r: Json) => Number(r.seq_num));

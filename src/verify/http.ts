/**
 * The collector's HTTP transport: raw HTTP/1.1 requests (node:http, node:https) to any S2 endpoint.
 *
 * Raw HTTP rather than the official SDK, because classifying an append needs facts the SDK hides:
 * it retries on its own (so one call may be several requests), it reports network failures without
 * saying whether the request had fully left the client, and its S2S sessions pipeline appends. Here
 * one operation is exactly one request per step, and `sent` says whether every byte of the request
 * was handed to the kernel ('finish' on the request): a server cannot apply a body it never got in
 * full, so an error before that is a definite failure (outcome.ts).
 *
 * Endpoints follow the official CLI's conventions: S2_BASIN_ENDPOINT may contain `{basin}` (cloud:
 * `https://{basin}.b.aws.s2.dev`); otherwise the basin goes in the `s2-basin` header (lite, api.md
 * 1.3). Without an explicit path the API lives under `/v1`.
 */
import http from 'node:http';
import https from 'node:https';
import { parseJson, stringifyJson } from '../util/json.js';
import { classifyAppendError, classifyAppendTransportFailure } from './outcome.js';
import type { AppendOutcome, PageOutcome, PageRecord, TailOutcome, Transport } from './clients.js';
import type { PlannedOp } from './workload.js';

export type HttpResult =
  | { kind: 'response'; status: number; text: string }
  /** No complete response. `sent`: every byte of the request reached the kernel. */
  | { kind: 'error'; sent: boolean; reason: string; status?: number };

export interface HttpOptions {
  timeoutMs: number;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
}

export function makeAgents(): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  return {
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256 }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 256 }),
  };
}

export function httpRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  options: HttpOptions,
): Promise<HttpResult> {
  return new Promise((resolve) => {
    const isHttps = url.protocol === 'https:';
    const payload = body === undefined ? undefined : Buffer.from(body);
    const allHeaders = payload ? { ...headers, 'content-length': String(payload.length) } : headers;
    let sent = false;
    let settled = false;
    let status: number | undefined;
    const settle = (result: HttpResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = (isHttps ? https : http).request(url, {
      method,
      headers: allHeaders,
      agent: isHttps ? options.httpsAgent : options.httpAgent,
    });
    const timer = setTimeout(() => {
      settle({ kind: 'error', sent, reason: `no response within ${options.timeoutMs} ms`, status });
      request.destroy();
    }, options.timeoutMs);
    request.on('finish', () => (sent = true));
    request.on('error', (error: NodeJS.ErrnoException) => {
      settle({ kind: 'error', sent, reason: error.code ?? error.message, status });
    });
    request.on('response', (response) => {
      status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if (response.complete)
          settle({ kind: 'response', status: status!, text: Buffer.concat(chunks).toString('utf8') });
        else settle({ kind: 'error', sent: true, reason: 'response cut short', status });
      });
      response.on('error', (error: NodeJS.ErrnoException) => {
        settle({ kind: 'error', sent: true, reason: error.code ?? error.message, status });
      });
      response.on('aborted', () => settle({ kind: 'error', sent: true, reason: 'response aborted', status }));
    });
    request.end(payload);
  });
}

/** Where one stream lives: the basin endpoint resolved for this basin. */
export interface StreamTarget {
  /** The basin endpoint, possibly with `{basin}`; called per request so tests can move it. */
  basinEndpoint: () => string;
  accessToken: string;
  basin: string;
  stream: string;
}

/** Base URL (ending in the API path) and extra headers for basin-scoped requests. */
export function basinBase(endpoint: string, basin: string): { base: string; headers: Record<string, string> } {
  const templated = endpoint.includes('{basin}');
  return { base: apiBase(endpoint.replaceAll('{basin}', basin)), headers: templated ? {} : { 's2-basin': basin } };
}

/** `host:port` or `scheme://host[:port][/path]` to the URL the API paths go under (default path `/v1`). */
export function apiBase(endpoint: string): string {
  const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`);
  const path = url.pathname === '/' || url.pathname === '' ? '/v1' : url.pathname.replace(/\/$/, '');
  return `${url.origin}${path}`;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const fenceHeader = [b64(new Uint8Array()), b64(new TextEncoder().encode('fence'))];

function errorCode(text: string): string | undefined {
  try {
    const body = parseJson(text) as { code?: unknown };
    return typeof body?.code === 'string' ? body.code : undefined;
  } catch {
    return undefined;
  }
}

function toBigInt(value: unknown): bigint | undefined {
  return typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))
    ? BigInt(value)
    : undefined;
}

export class HttpTransport implements Transport {
  constructor(
    private readonly target: StreamTarget,
    private readonly options: HttpOptions,
  ) {}

  private request(method: string, suffix: string, body?: string): Promise<HttpResult> {
    const { base, headers } = basinBase(this.target.basinEndpoint(), this.target.basin);
    const url = new URL(`${base}/streams/${encodeURIComponent(this.target.stream)}/records${suffix}`);
    return httpRequest(
      url,
      method,
      {
        ...headers,
        authorization: `Bearer ${this.target.accessToken}`,
        accept: 'application/json',
        's2-format': 'base64',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body,
      this.options,
    );
  }

  async append(op: Extract<PlannedOp, { kind: 'append' }>): Promise<AppendOutcome> {
    const records = op.bodies.map((body) =>
      op.fence !== undefined ? { headers: [fenceHeader], body: b64(body) } : { body: b64(body) },
    );
    const input: Record<string, unknown> = { records };
    if (op.matchSeqNum !== undefined) input.match_seq_num = op.matchSeqNum;
    if (op.fencingToken !== undefined) input.fencing_token = op.fencingToken;
    const result = await this.request('POST', '', stringifyJson(input));
    if (result.kind === 'error') {
      if (result.status === 412) return { kind: 'definite', reason: 'condition failed (412, body lost)' };
      const kind = classifyAppendTransportFailure(result.sent);
      return { kind, reason: result.reason };
    }
    if (result.status === 200) {
      try {
        const ack = parseJson(result.text) as { end?: { seq_num?: unknown } };
        const end = toBigInt(ack.end?.seq_num);
        if (end !== undefined) return { kind: 'ok', end };
      } catch {
        // fall through: an unreadable acknowledgement tells nothing about the append
      }
      return { kind: 'indefinite', reason: `unreadable acknowledgement: ${result.text.slice(0, 200)}` };
    }
    if (result.status === 412) {
      let body: { fencing_token_mismatch?: unknown; seq_num_mismatch?: unknown } = {};
      try {
        body = parseJson(result.text) as typeof body;
      } catch {
        // still definite: a 412 writes nothing
      }
      const currentToken = typeof body.fencing_token_mismatch === 'string' ? body.fencing_token_mismatch : undefined;
      const nextSeqNum = toBigInt(body.seq_num_mismatch);
      return { kind: 'definite', reason: `412 ${result.text.slice(0, 200)}`, currentToken, nextSeqNum };
    }
    const code = errorCode(result.text);
    return {
      kind: classifyAppendError(result.status, code),
      reason: `${result.status} ${code ?? result.text.slice(0, 200)}`,
    };
  }

  async readPage(start: bigint, count: number): Promise<PageOutcome> {
    const result = await this.request('GET', `?seq_num=${start}&count=${count}`);
    if (result.kind === 'error') return { kind: 'failed', reason: result.reason };
    if (result.status === 416) {
      const tail = toBigInt((parseJsonSafe(result.text) as { tail?: { seq_num?: unknown } })?.tail?.seq_num);
      return tail === undefined ? { kind: 'failed', reason: '416 without a tail' } : { kind: 'tail', tail };
    }
    if (result.status !== 200) return { kind: 'failed', reason: `${result.status} ${errorCode(result.text) ?? ''}` };
    type JsonRecord = { seq_num?: unknown; body?: unknown; headers?: unknown };
    const batch = parseJsonSafe(result.text) as { records?: JsonRecord[] } | undefined;
    if (!batch || !Array.isArray(batch.records)) return { kind: 'failed', reason: 'unreadable read response' };
    const records: PageRecord[] = [];
    for (const record of batch.records) {
      const seqNum = toBigInt(record.seq_num);
      if (seqNum === undefined) return { kind: 'failed', reason: 'record without seq_num' };
      const body =
        typeof record.body === 'string' ? new Uint8Array(Buffer.from(record.body, 'base64')) : new Uint8Array();
      const headers = record.headers;
      const fence =
        Array.isArray(headers) && headers.length === 1 && stringifyJson(headers[0]) === stringifyJson(fenceHeader);
      records.push(fence ? { seqNum, body, fence } : { seqNum, body });
    }
    return { kind: 'records', records };
  }

  async checkTail(): Promise<TailOutcome> {
    const result = await this.request('GET', '/tail');
    if (result.kind === 'error') return { kind: 'failed', reason: result.reason };
    if (result.status !== 200) return { kind: 'failed', reason: `${result.status} ${errorCode(result.text) ?? ''}` };
    const tail = toBigInt((parseJsonSafe(result.text) as { tail?: { seq_num?: unknown } })?.tail?.seq_num);
    return tail === undefined ? { kind: 'failed', reason: 'unreadable tail' } : { kind: 'ok', tail };
  }
}

function parseJsonSafe(text: string): unknown {
  try {
    return parseJson(text);
  } catch {
    return undefined;
  }
}

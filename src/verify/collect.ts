/**
 * `s2-lite verify collect`: N concurrent clients against one stream of any S2 endpoint, writing the
 * JSONL history of verification.md (see clients.ts for what each client does and how events are
 * ordered, http.ts for how outcomes are classified).
 *
 * The model assumes the stream starts empty. On a stream that already holds records the collector
 * first reads them and writes a synthetic successful append from 0 to the current tail carrying
 * their hashes (and, as its fencing token, the token of the last `fence` record it saw). It assumes
 * nobody else writes to the stream during the run.
 */
import { randomBytes } from 'node:crypto';
import { seededRand, systemRand, type Rand } from '../util/rand.js';
import { stringifyJson } from '../util/json.js';
import { ChainCache, HistoryRecorder, runClient, type Transport } from './clients.js';
import { recordHash } from './hash.js';
import {
  apiBase,
  basinBase,
  httpRequest,
  HttpTransport,
  makeAgents,
  type HttpOptions,
  type StreamTarget,
} from './http.js';
import { defaultWorkload, Knowledge, type WorkloadOptions } from './workload.js';
import type { Return } from './history.js';

export interface CollectOptions {
  target: StreamTarget;
  /** The account endpoint (only used with `create`). */
  accountEndpoint?: () => string;
  /** Create the basin and stream first if they do not exist. */
  create?: boolean;
  clients: number;
  /** Stop starting operations after this long... */
  durationMs?: number;
  /** ...or after this many operations in total, whichever comes first. */
  operations?: number;
  /** Seeds the workload's choices (record sizes, conditions); default random. */
  seed?: number;
  workload?: Partial<WorkloadOptions>;
  requestTimeoutMs?: number;
  /** Pause between a client's operations, ms (uniform in the range). */
  thinkMs?: [number, number];
  /** Pause after a failed operation, so a dead server is not hammered. */
  failurePauseMs?: number;
  /** Receives each history line (without newline), in order. */
  sink: (line: string) => void;
  /** Stops the run early (clients finish their current operation). */
  signal?: AbortSignal;
}

export interface CollectSummary {
  operations: number;
  failures: number;
  lines: number;
  durationMs: number;
}

function unit(seed: number | undefined, slot: number): Rand {
  return seed === undefined ? systemRand : seededRand((seed * 1_000_003 + slot) >>> 0);
}

async function createIfMissing(options: CollectOptions, http: HttpOptions): Promise<void> {
  const { target } = options;
  const headers = { authorization: `Bearer ${target.accessToken}`, 'content-type': 'application/json' };
  const account = options.accountEndpoint?.() ?? target.basinEndpoint();
  const basin = await httpRequest(
    new URL(`${apiBase(account)}/basins`),
    'POST',
    headers,
    stringifyJson({ basin: target.basin }),
    http,
  );
  if (basin.kind === 'error' || (basin.status !== 201 && basin.status !== 409)) {
    throw new Error(
      `cannot create basin ${target.basin}: ${basin.kind === 'error' ? basin.reason : `${basin.status} ${basin.text}`}`,
    );
  }
  const { base, headers: basinHeaders } = basinBase(target.basinEndpoint(), target.basin);
  const stream = await httpRequest(
    new URL(`${base}/streams`),
    'POST',
    { ...headers, ...basinHeaders },
    stringifyJson({ stream: target.stream }),
    http,
  );
  if (stream.kind === 'error' || (stream.status !== 201 && stream.status !== 409)) {
    throw new Error(
      `cannot create stream ${target.stream}: ${stream.kind === 'error' ? stream.reason : `${stream.status} ${stream.text}`}`,
    );
  }
}

/** Reads what the stream already holds and records it as one synthetic append (module comment). */
async function recordExisting(transport: Transport, recorder: HistoryRecorder, knowledge: Knowledge): Promise<void> {
  const tail = await transport.checkTail();
  if (tail.kind === 'failed') throw new Error(`cannot check the tail of the stream: ${tail.reason}`);
  if (tail.tail === 0n) return;
  const hashes: bigint[] = [];
  let token: string | null = null;
  while (BigInt(hashes.length) < tail.tail) {
    const page = await transport.readPage(BigInt(hashes.length), 1000);
    if (page.kind !== 'records' || page.records.length === 0) {
      throw new Error(
        `cannot read the existing records of the stream (${page.kind === 'failed' ? page.reason : 'trimmed?'})`,
      );
    }
    for (const record of page.records) {
      if (record.seqNum !== BigInt(hashes.length)) {
        throw new Error(`the stream's records do not start at 0 (trimmed?): the model needs all of them`);
      }
      hashes.push(recordHash(record.body));
      if (record.fence) token = new TextDecoder().decode(record.body);
    }
  }
  const clientId = recorder.newClientId();
  const opId = recorder.newOpId();
  recorder.emit({
    type: 'start',
    clientId,
    opId,
    call: {
      kind: 'append',
      numRecords: hashes.length,
      recordHashes: hashes,
      setFencingToken: token,
      fencingToken: null,
      matchSeqNum: null,
    },
  });
  recorder.emit({ type: 'finish', clientId, opId, ret: { kind: 'appendSuccess', tail: tail.tail } });
  knowledge.sawTail(tail.tail);
  if (token !== null) {
    knowledge.sawToken(token);
    knowledge.fenced = token !== '';
  }
}

export async function collect(options: CollectOptions): Promise<CollectSummary> {
  const agents = makeAgents();
  const http: HttpOptions = { timeoutMs: options.requestTimeoutMs ?? 10_000, ...agents };
  const started = Date.now();
  const recorder = new HistoryRecorder(options.sink);
  const knowledge = new Knowledge();
  const chainCache = new ChainCache();
  const transport = new HttpTransport(options.target, http);
  const workload = { ...defaultWorkload, ...options.workload };
  const runTag = options.seed === undefined ? randomBytes(3).toString('hex') : `s${options.seed}`;
  let operations = 0;
  let failures = 0;
  const done = () =>
    options.signal?.aborted === true ||
    (options.durationMs !== undefined && Date.now() - started >= options.durationMs) ||
    (options.operations !== undefined && operations >= options.operations);
  try {
    if (options.create) await createIfMissing(options, http);
    await recordExisting(transport, recorder, knowledge);
    const clients = Array.from({ length: options.clients }, (_, slot) =>
      runClient({
        transport,
        recorder,
        knowledge,
        chainCache,
        rand: unit(options.seed, slot),
        workload,
        tag: `${runTag}c${slot}`,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        thinkMs: options.thinkMs ?? [0, 5],
        failurePauseMs: options.failurePauseMs ?? 50,
        done,
        onOperation(ret: Return) {
          operations++;
          if (!/Success$/.test(ret.kind)) failures++;
        },
      }),
    );
    await Promise.all(clients);
    recorder.close();
  } finally {
    agents.httpAgent.destroy();
    agents.httpsAgent.destroy();
  }
  return { operations, failures, lines: recorder.lines, durationMs: Date.now() - started };
}

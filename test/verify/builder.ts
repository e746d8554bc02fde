/**
 * Hand-made histories for the checker tests: operations are started and finished in the order the
 * test writes them, which is the real-time order of the history.
 */
import {
  formatEvent,
  parseHistory,
  type AppendCall,
  type Call,
  type HistoryEvent,
  type ParsedLine,
  type Return,
} from '../../src/verify/history.js';
import { foldHashes, recordHash } from '../../src/verify/hash.js';

export const hashOf = (body: string): bigint => recordHash(new TextEncoder().encode(body));

/** The stream hash of these record bodies, in order. */
export const streamHashOf = (...bodies: string[]): bigint => foldHashes(0n, bodies.map(hashOf));

export interface OpHandle {
  clientId: number;
  opId: number;
}

export class HistoryBuilder {
  private readonly events: HistoryEvent[] = [];
  private readonly deferred: HistoryEvent[] = [];
  private nextOp = 1;

  append(
    clientId: number,
    bodies: string[],
    options: { matchSeqNum?: number; fencingToken?: string; fence?: string } = {},
  ): OpHandle {
    const call: AppendCall = {
      kind: 'append',
      numRecords: bodies.length,
      recordHashes: bodies.map(hashOf),
      setFencingToken: options.fence ?? null,
      fencingToken: options.fencingToken ?? null,
      matchSeqNum: options.matchSeqNum === undefined ? null : BigInt(options.matchSeqNum),
    };
    return this.start(clientId, call);
  }

  /** A fence command: one record whose body is the new token. */
  fence(clientId: number, token: string, options: { fencingToken?: string; matchSeqNum?: number } = {}): OpHandle {
    return this.append(clientId, [token], { ...options, fence: token });
  }

  read(clientId: number): OpHandle {
    return this.start(clientId, { kind: 'read' });
  }

  checkTail(clientId: number): OpHandle {
    return this.start(clientId, { kind: 'checkTail' });
  }

  ok(op: OpHandle, tail: number): this {
    return this.finish(op, { kind: 'appendSuccess', tail: BigInt(tail) });
  }

  definite(op: OpHandle): this {
    return this.finish(op, { kind: 'appendDefiniteFailure' });
  }

  /** Written at the end of the history, as the format requires. */
  indefinite(op: OpHandle): this {
    this.deferred.push({
      type: 'finish',
      clientId: BigInt(op.clientId),
      opId: BigInt(op.opId),
      ret: { kind: 'appendIndefiniteFailure' },
    });
    return this;
  }

  readOk(op: OpHandle, tail: number, hash: bigint): this {
    return this.finish(op, { kind: 'readSuccess', tail: BigInt(tail), streamHash: hash });
  }

  readFailed(op: OpHandle): this {
    return this.finish(op, { kind: 'readFailure' });
  }

  tail(op: OpHandle, tail: number): this {
    return this.finish(op, { kind: 'checkTailSuccess', tail: BigInt(tail) });
  }

  finish(op: OpHandle, ret: Return): this {
    this.events.push({ type: 'finish', clientId: BigInt(op.clientId), opId: BigInt(op.opId), ret });
    return this;
  }

  text(): string {
    return [...this.events, ...this.deferred].map((e) => formatEvent(e) + '\n').join('');
  }

  lines(): ParsedLine[] {
    return parseHistory(this.text());
  }

  private start(clientId: number, call: Call): OpHandle {
    const op = { clientId, opId: this.nextOp++ };
    this.events.push({ type: 'start', clientId: BigInt(clientId), opId: BigInt(op.opId), call });
    return op;
  }
}

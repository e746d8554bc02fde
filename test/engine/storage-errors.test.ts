/**
 * Storage errors become API errors in one place (engine/storage-errors.ts): each kind maps to its
 * code (api.md 10.3), every log call whose errors reach a client goes through the mapping, and an
 * error that is not a storage error (a bug) passes through untouched.
 */
import { describe, expect, it } from 'vitest';
import { S2Error } from '../../src/domain/errors.js';
import { appendNotDurable, engineLog, streamUnavailable, toS2Error } from '../../src/engine/storage-errors.js';
import { CorruptDataError, FencedError, logClosed, StoreFailure, type StorageError } from '../../src/storage/errors.js';
import { ControlledLog } from './support.js';

describe('toS2Error', () => {
  it('maps every kind by kind, keeping the message', () => {
    const cases: [StorageError, string, string][] = [
      [new FencedError('fenced by a newer writer: chunk 9'), 'unavailable', 'fenced by a newer writer: chunk 9'],
      [logClosed(), 'unavailable', 'the stream log is closed'],
      [new StoreFailure('get x on memory kept failing'), 'storage', 'get x on memory kept failing'],
      [
        new CorruptDataError('chunk 3: body checksum mismatch'),
        'storage',
        'corrupt data: chunk 3: body checksum mismatch',
      ],
    ];
    for (const [error, code, message] of cases) {
      const mapped = toS2Error(error);
      expect(mapped).toBeInstanceOf(S2Error);
      expect({ code: mapped.code, message: mapped.message }).toEqual({ code, message });
    }
  });

  it('says an append in flight is indefinite (500) and the stream unavailable (503), whatever stopped the log', () => {
    const fenced = new FencedError('fenced by a newer writer: manifest 3');
    expect(appendNotDurable(fenced)).toMatchObject({ code: 'storage' });
    expect(appendNotDurable(fenced).message).toBe(
      'append could not be made durable: fenced by a newer writer: manifest 3',
    );
    expect(streamUnavailable(fenced)).toMatchObject({ code: 'unavailable' });
    expect(streamUnavailable(fenced).message).toBe(
      'stream unavailable after a storage failure: fenced by a newer writer: manifest 3',
    );
  });
});

describe('engineLog', () => {
  it('maps the errors of commits, barriers, reads and timestamp lookups, and passes bugs through', async () => {
    const inner = await ControlledLog.create();
    const log = engineLog(inner);
    const corrupt = new CorruptDataError('segment s: block checksum mismatch');
    inner.read = () => Promise.reject(corrupt);
    const read = (await log
      .read({ stream: 's', startSeqNum: 0, endSeqNum: 1, maxRecords: 1, maxBytes: 1, nowMs: 0 })
      .catch((e: unknown) => e)) as S2Error;
    expect({ code: read.code, message: read.message }).toEqual({
      code: 'storage',
      message: 'corrupt data: segment s: block checksum mismatch',
    });
    const bug = new TypeError('a bug');
    inner.seqNumForTimestamp = () => Promise.reject(bug);
    await expect(log.seqNumForTimestamp('s', 0n, 1, 0)).rejects.toBe(bug);

    expect(log.refusal()).toBeUndefined();
    inner.fail('storage failure: disk on fire');
    expect(log.refusal()).toBe('storage failure: disk on fire');
    for (const refused of [log.commit([{ kind: 'basin.delete', basin: 'b' }]), log.barrier()]) {
      const error = (await refused.catch((e: unknown) => e)) as S2Error;
      expect(error).toBeInstanceOf(S2Error);
      expect({ code: error.code, message: error.message }).toEqual({
        code: 'storage',
        message: 'storage failure: disk on fire',
      });
    }
    await log.close();
  });
});

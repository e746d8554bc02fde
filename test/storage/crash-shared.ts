/** Record contents shared by the crash driver and the crash test, derived from the seq_num alone. */
import type { SequencedRecord } from '../../src/domain/types.js';
import { makeRecord } from './helpers.js';

export const crashStream = 'crash';

export function crashRecord(seqNum: number): SequencedRecord {
  return makeRecord(seqNum, (1n << 60n) + BigInt(seqNum) * 3n);
}

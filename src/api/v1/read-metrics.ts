/**
 * Records and metered bytes delivered to readers, counted once per batch for every transport.
 */
import type { RecordList } from '../../domain/record-list.js';
import { meteredBytes, type Header } from '../../domain/types.js';
import { metrics } from '../../metrics.js';

/** Counts a batch; a `RecordList` knows its metered size, so its records are not visited. */
export function countRead(
  transport: string,
  records: readonly { headers: Header[]; body: Uint8Array }[] | RecordList,
): void {
  if (records.length === 0) return;
  let bytes = 0;
  if ('bytes' in records) bytes = records.bytes;
  else for (const record of records) bytes += meteredBytes(record);
  metrics.readRecords.inc({ transport }, records.length);
  metrics.readBytes.inc({ transport }, bytes);
}

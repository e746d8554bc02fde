/**
 * Records and metered bytes delivered to readers, counted once per batch for every transport.
 */
import { meteredBytes, type Header } from '../../domain/types.js';
import { metrics } from '../../metrics.js';

export function countRead(transport: string, records: readonly { headers: Header[]; body: Uint8Array }[]): void {
  if (records.length === 0) return;
  let bytes = 0;
  for (const record of records) bytes += meteredBytes(record);
  metrics.readRecords.inc({ transport }, records.length);
  metrics.readBytes.inc({ transport }, bytes);
}

/**
 * The header at the start of every object file of the local-filesystem store. The put-id must be
 * readable by head() and appear atomically with the body, so it lives in the same file (a sidecar
 * file or xattr could not be published in the same atomic step):
 *
 *   'S2OB' magic, u8 version (1), u16 BE put-id byte length, put-id bytes (UTF-8), then the body.
 *
 * get/head/list report and return only the body.
 */
import type { FileHandle } from 'node:fs/promises';
import { ObjectStoreError } from './types.js';

const MAGIC = Buffer.from('S2OB', 'latin1');
const VERSION = 1;
const FIXED_HEADER = MAGIC.length + 1 + 2;

export interface ObjectHeader {
  /** Bytes before the body. */
  headerLength: number;
  putId?: string;
}

export function encodeObjectHeader(putId: string | undefined): Buffer {
  const id = Buffer.from(putId ?? '', 'utf8'); // validatePutId bounds it to 256 bytes
  const header = Buffer.alloc(FIXED_HEADER + id.length);
  MAGIC.copy(header, 0);
  header[4] = VERSION;
  header.writeUInt16BE(id.length, 5);
  id.copy(header, FIXED_HEADER);
  return header;
}

/** Reads the header of the open object file `file` of `fileSize` bytes; Fatal if it is not one of ours. */
export async function readObjectHeader(fh: FileHandle, fileSize: number, file: string): Promise<ObjectHeader> {
  const fixed = Buffer.alloc(FIXED_HEADER);
  const { bytesRead } = await fh.read(fixed, 0, FIXED_HEADER, 0);
  if (bytesRead < FIXED_HEADER || !fixed.subarray(0, MAGIC.length).equals(MAGIC) || fixed[4] !== VERSION) {
    throw new ObjectStoreError('Fatal', `${file} is not an object file of this store (bad header)`);
  }
  const idLength = fixed.readUInt16BE(5);
  const headerLength = FIXED_HEADER + idLength;
  if (fileSize < headerLength) throw new ObjectStoreError('Fatal', `${file} has a truncated header`);
  if (idLength === 0) return { headerLength };
  const id = Buffer.alloc(idLength);
  await fh.read(id, 0, idLength, FIXED_HEADER);
  return { headerLength, putId: id.toString('utf8') };
}

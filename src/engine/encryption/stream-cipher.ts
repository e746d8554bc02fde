/**
 * Encryption at rest for one stream and one client key (api.md 7.5, 13): resolved when an
 * append or read opens a stream, used to seal an append's envelope records at admission (after
 * validation measured the plaintext) and to open records where a read session delivers them
 * (engine/read-session.ts `deliver`, which covers catch-up and live batches of unary, SSE and
 * S2S reads). Command records (fence, trim) stay plaintext.
 */
import { createHash } from 'node:crypto';
import { errors } from '../../domain/errors.js';
import type { Cipher, SequencedRecord } from '../../domain/types.js';
import { systemSecureRandom, type SecureRandom } from '../../util/rand.js';
import type { ValidatedAppend } from '../records.js';
import { aeads, prepareCiphers } from './aead.js';
import type { EncryptionKey } from './key.js';
import { missingKey } from './key.js';
import { openRecord, sealRecord, type SealContext } from './sealed-record.js';

/** AES-256-GCM with random 96-bit nonces: at most 2^32 messages per key (api.md 7.1 step 7). */
export const aesGcmSeqNumMax = 0xffff_ffff;

/** 32 bytes naming the stream in the associated data: SHA-256 of `basin ‖ 0 ‖ stream ‖ 0` (names hold no NUL). */
export function streamAadId(basin: string, stream: string): Uint8Array {
  return createHash('sha256').update(basin).update('\0').update(stream).update('\0').digest();
}

export class StreamCipher {
  private constructor(
    private readonly base: Omit<SealContext, 'key'>,
    /** Asked for its bytes per batch: a key wiped when its request ended is never used (it throws). */
    private readonly key: EncryptionKey,
  ) {}

  /**
   * The stream's cipher with the client's key, or null for a stream without a cipher (whose key,
   * if any, is ignored). 400 `bad_header` for a missing or invalid key (api.md 10.3).
   */
  static async resolve(
    basin: string,
    stream: string,
    cipher: Cipher | null,
    key: EncryptionKey | undefined,
    random: SecureRandom = systemSecureRandom,
  ): Promise<StreamCipher | null> {
    if (cipher === null) return null;
    if (key === undefined) throw missingKey(cipher);
    key.material(cipher); // 400 now, before anything is streamed, if the key is invalid
    await prepareCiphers();
    return new StreamCipher({ aead: aeads[cipher], streamId: streamAadId(basin, stream), random }, key);
  }

  get cipher(): Cipher {
    return this.base.aead.cipher;
  }

  /**
   * The batch with every envelope record sealed, its metered size unchanged. On AES-256-GCM
   * streams it carries the seq_num cap for the streamer to check once seq_nums are assigned.
   */
  sealAppend(input: ValidatedAppend): ValidatedAppend {
    const { records, commands } = input;
    const ctx = this.context();
    let lastEnvelope = -1;
    const sealed = records.map((record, i) => {
      if (commands?.[i]) return record;
      lastEnvelope = i;
      return sealRecord(ctx, record);
    });
    const out: ValidatedAppend = { ...input, records: sealed };
    if (this.cipher === 'aes-256-gcm' && lastEnvelope >= 0) {
      out.seqNumCap = { lastEnvelope, max: aesGcmSeqNumMax };
    }
    return out;
  }

  /** Plaintext records of a delivered batch; throws on the first that does not open. */
  openRecords(records: SequencedRecord[]): SequencedRecord[] {
    const ctx = this.context();
    const out = new Array<SequencedRecord>(records.length);
    for (let i = 0; i < records.length; i++) out[i] = openRecord(ctx, records[i]!);
    return out;
  }

  private context(): SealContext {
    return { ...this.base, key: this.key.material(this.base.aead.cipher) };
  }
}

/** 422 for an envelope record past the cap (api.md 10.3 message). */
export function seqNumCapExceeded(max: number, attempted: number): Error {
  return errors.invalid(`max assignable sequence number is ${max}; attempted ${attempted}`);
}

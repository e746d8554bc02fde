/**
 * Record bytes as people read them: UTF-8 text (control characters made visible), pretty JSON,
 * or a hex dump; plus the base64 both ways (records travel with `S2-Format: base64`, api.md 6.6)
 * and the command records of api.md 6.3. No DOM here, so it is tested directly in Node.
 */

export type BodyView = 'auto' | 'text' | 'json' | 'hex';

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) binary += String.fromCharCode(...bytes.subarray(i, i + step));
  return btoa(binary);
}

const encoder = new TextEncoder();
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The text, or undefined when the bytes are not valid UTF-8. */
export function strictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Text with C0 controls (but tab and newline) and DEL shown as their Unicode control pictures,
 * and invalid UTF-8 as U+FFFD, so a binary body can never disturb the page's layout.
 */
export function visibleText(bytes: Uint8Array): string {
  const text = new TextDecoder('utf-8').decode(bytes);
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) =>
    c === '\u007f' ? '\u2421' : String.fromCharCode(0x2400 + c.charCodeAt(0)),
  );
}

export function prettyJson(bytes: Uint8Array): string | undefined {
  const text = strictUtf8(bytes);
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return undefined;
  }
}

/** A classic dump: offset, 16 bytes in hex, and the printable ASCII beside them. */
export function hexDump(bytes: Uint8Array, maxBytes = bytes.length): string {
  const lines: string[] = [];
  const end = Math.min(bytes.length, maxBytes);
  for (let offset = 0; offset < end; offset += 16) {
    const row = bytes.subarray(offset, Math.min(offset + 16, end));
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

export interface RenderedBody {
  text: string;
  /** What the bytes were shown as (auto picks one). */
  as: 'text' | 'json' | 'hex' | 'empty';
  truncated: boolean;
}

/** Characters of a body shown before "Show all"; hex dumps show this many bytes / 4. */
export const bodyPreviewChars = 4096;

export function renderBody(bytes: Uint8Array, view: BodyView, full = false): RenderedBody {
  if (bytes.length === 0) return { text: '', as: 'empty', truncated: false };
  let as: RenderedBody['as'] = view === 'auto' ? autoView(bytes) : view;
  let text: string | undefined;
  if (as === 'json') {
    text = prettyJson(bytes);
    if (text === undefined) as = strictUtf8(bytes) === undefined ? 'hex' : 'text';
  }
  if (as === 'hex') {
    const limit = full ? bytes.length : bodyPreviewChars / 4;
    return { text: hexDump(bytes, limit), as, truncated: bytes.length > limit };
  }
  text ??= visibleText(bytes);
  if (!full && text.length > bodyPreviewChars) return { text: text.slice(0, bodyPreviewChars), as, truncated: true };
  return { text, as, truncated: false };
}

function autoView(bytes: Uint8Array): 'text' | 'json' | 'hex' {
  if (prettyJson(bytes) !== undefined) return 'json';
  const text = strictUtf8(bytes);
  if (text === undefined) return 'hex';
  // Valid UTF-8 that is mostly control characters is binary in disguise.
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const controls = text.match(/[\u0000-\u0008\u000e-\u001f]/g)?.length ?? 0;
  return controls > text.length / 10 ? 'hex' : 'text';
}

/** A record as the console keeps it: bytes decoded from base64, positions exact. */
export interface ConsoleRecord {
  seqNum: bigint;
  timestamp: bigint;
  headers: [Uint8Array, Uint8Array][];
  body: Uint8Array;
}

/** Metered size (api.md 6.4). */
export function meteredBytes(record: Pick<ConsoleRecord, 'headers' | 'body'>): number {
  let size = 8 + 2 * record.headers.length + record.body.length;
  for (const [name, value] of record.headers) size += name.length + value.length;
  return size;
}

export type Command = { kind: 'fence'; token: string } | { kind: 'trim'; trimPoint: bigint | undefined };

/** A command record has exactly one header, with an empty name (api.md 6.1, 6.3). */
export function commandOf(record: Pick<ConsoleRecord, 'headers' | 'body'>): Command | undefined {
  if (record.headers.length !== 1 || record.headers[0]![0].length !== 0) return undefined;
  const name = strictUtf8(record.headers[0]![1]);
  if (name === 'fence') return { kind: 'fence', token: visibleText(record.body) };
  if (name === 'trim') {
    const body = record.body;
    const trimPoint =
      body.length === 8 ? new DataView(body.buffer, body.byteOffset, 8).getBigUint64(0, false) : undefined;
    return { kind: 'trim', trimPoint };
  }
  return undefined;
}

/** The 8-byte big-endian body of a trim command (api.md 6.3). */
export function trimBody(trimPoint: bigint): Uint8Array {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setBigUint64(0, trimPoint, false);
  return body;
}

/** Milliseconds since the epoch as an ISO time, when it is one. */
export function formatTimestamp(ms: bigint): string {
  if (ms < 0n || ms > 8_640_000_000_000_000n) return `${ms} ms`;
  return new Date(Number(ms)).toISOString();
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * Server-Sent Events over fetch. `EventSource` cannot send request headers, and every stream
 * route needs `S2-Basin` (api.md 1.3), `S2-Format` and, with access tokens, `Authorization`; so
 * the console reads the `text/event-stream` body itself with this parser (the WHATWG event-stream
 * rules: `event`, `data` (joined by newlines), `id`, comments, any line ending).
 */

export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  /** A CR ended the last chunk: a LF starting the next one belongs to it. */
  private pendingCr = false;

  /** Feeds decoded text; returns the events it completed. */
  push(chunk: string): SseEvent[] {
    if (this.pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.pendingCr = false;
    this.buffer += chunk;
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (match === null) break;
      // A lone CR at the very end may be the first half of a CRLF split across chunks.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) this.pendingCr = true;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return undefined;
      }
      const event = { event: this.event || 'message', data: this.data.join('\n'), id: this.id };
      this.event = '';
      this.data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') this.event = value;
    else if (name === 'data') this.data.push(value);
    else if (name === 'id' && !value.includes('\0')) this.id = value;
    return undefined;
  }
}

/** Reads an event-stream response body to its end, handing each event over as it completes. */
export async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (event: SseEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      // A UTF-8 character split between chunks is held back by the decoder until it is whole.
      for (const event of parser.push(decoder.decode(value, { stream: !done }))) onEvent(event);
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

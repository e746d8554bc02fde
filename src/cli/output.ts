/**
 * Terminal-aware output: colour only when the stream is a TTY (and NO_COLOR is unset), aligned
 * columns that stay plain lines in a pipe, and a quiet exit when the reader of stdout goes away
 * (`s2-lite read ... | head`).
 */
import type { Writable } from 'node:stream';

export function useColour(stream: { isTTY?: boolean }): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

function paint(code: number, text: string, stream: { isTTY?: boolean }): string {
  return useColour(stream) ? `\x1b[${code}m${text}\x1b[0m` : text;
}

export const style = {
  green: (text: string, stream: { isTTY?: boolean } = process.stderr) => paint(32, text, stream),
  yellow: (text: string, stream: { isTTY?: boolean } = process.stderr) => paint(33, text, stream),
  dim: (text: string, stream: { isTTY?: boolean } = process.stderr) => paint(2, text, stream),
  bold: (text: string, stream: { isTTY?: boolean } = process.stderr) => paint(1, text, stream),
};

/** Rows padded into columns (two spaces apart); the last column is never padded. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n')
    .concat('\n');
}

/** stdout closed by its reader (EPIPE) is a normal way for a pipeline to end, not an error. */
export function exitQuietlyOnEpipe(stream: Writable = process.stdout): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

/** Writes and waits for the buffer to drain, so a fast producer cannot exhaust memory. */
export async function writeAll(stream: Writable, chunk: string | Uint8Array): Promise<void> {
  if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', resolve));
}

/**
 * A status line redrawn in place on a terminal (stderr) every `intervalMs`; does nothing when
 * stderr is not a TTY, so pipes and logs only get the final lines. `stop()` erases it.
 */
export function liveLine(render: () => string, intervalMs = 100): { stop(): void } {
  const out = process.stderr;
  if (!out.isTTY) return { stop() {} };
  const draw = () => out.write(`\r\x1b[2K${render().slice(0, Math.max(10, (out.columns || 80) - 1))}`);
  draw();
  const timer = setInterval(draw, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      out.write('\r\x1b[2K');
    },
  };
}

/**
 * Iterates `source` until it ends or `signal` aborts. The SDK's SSE read session does not always
 * end when its request is aborted, so the abort is raced here and the iterator is released.
 */
export async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next === 'aborted' || next.done) return;
      yield next.value;
    }
  } finally {
    // Release the session without waiting on it: a stuck one must not hold up the caller.
    void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

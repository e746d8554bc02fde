/**
 * Record commands: check-tail, append, read, tail, fence, trim.
 *
 * `append` batches lines through the SDK's Producer over an append session (S2S on Node), with a
 * linger like the official CLI, and reports the acknowledged range on stderr so stdout stays clean
 * for pipes. `read` and `tail` use a read session; without a limit they follow the stream until
 * Ctrl-C, which ends them cleanly after flushing what was received.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import {
  AppendInput,
  AppendRecord,
  BatchTransform,
  Producer,
  RangeNotSatisfiableError,
  type AppendAck,
  type ReadFrom,
  type ReadInput,
  type S2Stream,
} from '@s2-dev/streamstore';
import { Option, type Command } from 'commander';
import { durationOption, parseCount, parseDurationArg, parseSizeArg } from '../args.js';
import { action, basinClient, parseStreamUri, UsageError } from '../client.js';
import { describeCommand, formatRecord, lines, parseFormat, parseRecordLine, type RecordFormat } from '../format.js';
import { exitQuietlyOnEpipe, liveLine, style, untilAborted, writeAll } from '../output.js';

function openStream(uri: string): { label: string; stream: S2Stream } {
  const { basin, stream } = parseStreamUri(uri);
  return { label: `s2://${basin}/${stream}`, stream: basinClient(basin).stream(stream) };
}

function formatOption(defaultFormat: RecordFormat = 'text'): Option {
  return new Option('--format <format>', 'record format: text, json or json-base64 (aliases raw, base64, json-binsafe)')
    .default(defaultFormat)
    .argParser(parseFormat);
}

function ackLine(verb: string, ack: { start: number; end: number; tail: AppendAck['tail'] }): string {
  const range = ack.end - ack.start === 1 ? `${ack.start}` : `${ack.start}..${ack.end}`;
  return `${style.green('✓')} [${verb}] ${range} // tail: ${ack.tail.seqNum} @ ${ack.tail.timestamp.getTime()}\n`;
}

interface AppendOptions {
  input?: string;
  fencingToken?: string;
  matchSeqNum?: number;
  format: RecordFormat;
  linger: number;
}

async function append(uri: string, options: AppendOptions): Promise<void> {
  const { stream } = openStream(uri);
  const input = options.input && options.input !== '-' ? createReadStream(options.input) : process.stdin;
  // 5 MiB in flight and batches of at most 1000 records / 1 MiB are the official CLI's producer defaults.
  const session = await stream.appendSession({ maxInflightBytes: 5 * 1024 * 1024 });
  const producer = new Producer(
    new BatchTransform({
      lingerDurationMillis: options.linger,
      ...(options.fencingToken !== undefined ? { fencingToken: options.fencingToken } : {}),
      ...(options.matchSeqNum !== undefined ? { matchSeqNum: options.matchSeqNum } : {}),
    }),
    session,
  );
  let records = 0;
  let bytes = 0;
  let start: number | undefined;
  let end = 0;
  let tail: AppendAck['tail'] | undefined;
  const progress = liveLine(() => `appending: ${records} records, ${(bytes / 1048576).toFixed(2)} MiB submitted`);
  try {
    for await (const line of lines(input)) {
      const record = parseRecordLine(line, options.format, records + 1);
      const ticket = await producer.submit(record);
      records += 1;
      bytes += record.meteredBytes;
      ticket.ack().then(
        (indexed) => {
          const seqNum = indexed.seqNum();
          start = start === undefined ? seqNum : Math.min(start, seqNum);
          end = Math.max(end, seqNum + 1);
          if (!tail || indexed.ack.tail.seqNum >= tail.seqNum) tail = indexed.ack.tail;
        },
        () => {}, // the same failure is thrown by close() below
      );
    }
    await producer.close();
  } finally {
    progress.stop();
    await stream.close();
  }
  if (start === undefined || !tail) {
    process.stderr.write('nothing to append: the input had no records\n');
    return;
  }
  process.stderr.write(ackLine('APPENDED', { start, end, tail }));
}

interface ReadOptions {
  seqNum?: number;
  timestamp?: number;
  ago?: number;
  tailOffset?: number;
  count?: number;
  bytes?: number;
  clamp?: boolean;
  until?: number;
  format: RecordFormat;
  output?: string;
}

/** Streams records to `out` until the session ends or the user presses Ctrl-C. */
async function readInto(stream: S2Stream, input: ReadInput, format: RecordFormat, out: Writable): Promise<void> {
  const abort = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    abort.abort();
  };
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  if (out === process.stdout) exitQuietlyOnEpipe();
  try {
    const session = await stream.readSession(input, { as: 'bytes', signal: abort.signal });
    for await (const record of untilAborted(session, abort.signal)) {
      const command = format === 'text' ? describeCommand(record) : undefined;
      // In text format a command record has no body line to print; say what it was on stderr.
      if (command) process.stderr.write(style.dim(`${command}\n`));
      else await writeAll(out, formatRecord(record, format));
    }
  } catch (error) {
    if (!interrupted) throw error;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await stream.close().catch(() => {});
  }
}

async function finish(out: Writable): Promise<void> {
  if (out === process.stdout) return;
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

async function read(uri: string, options: ReadOptions): Promise<void> {
  const starts = ['seqNum', 'timestamp', 'ago', 'tailOffset'].filter(
    (k) => options[k as keyof ReadOptions] !== undefined,
  );
  if (starts.length > 1) throw new UsageError('give at most one of --seq-num, --timestamp, --ago and --tail-offset');
  let from: ReadFrom = { seqNum: 0 };
  if (options.seqNum !== undefined) from = { seqNum: options.seqNum };
  else if (options.timestamp !== undefined) from = { timestamp: options.timestamp };
  else if (options.ago !== undefined) from = { timestamp: Math.max(0, Date.now() - options.ago) };
  else if (options.tailOffset !== undefined) from = { tailOffset: options.tailOffset };
  const limits = {
    ...(options.count !== undefined ? { count: options.count } : {}),
    ...(options.bytes !== undefined ? { bytes: options.bytes } : {}),
  };
  const input: ReadInput = {
    start: { from, clamp: Boolean(options.clamp) },
    stop: {
      ...(Object.keys(limits).length > 0 ? { limits } : {}),
      ...(options.until !== undefined ? { untilTimestamp: options.until } : {}),
    },
  };
  const { stream } = openStream(uri);
  const out = options.output && options.output !== '-' ? createWriteStream(options.output) : process.stdout;
  try {
    await readInto(stream, input, options.format, out);
  } finally {
    await finish(out);
  }
}

async function tail(uri: string, options: { lines: number; follow?: boolean; format: RecordFormat }): Promise<void> {
  const { stream } = openStream(uri);
  if (options.lines === 0 && !options.follow) return;
  const input: ReadInput = {
    start: { from: { tailOffset: options.lines }, clamp: true },
    stop: options.follow ? {} : { limits: { count: options.lines } },
  };
  try {
    await readInto(stream, input, options.format, process.stdout);
  } catch (error) {
    // An empty stream has no last lines; that is not an error for `tail`.
    if (!(error instanceof RangeNotSatisfiableError)) throw error;
  }
}

interface ConditionOptions {
  fencingToken?: string;
  matchSeqNum?: number;
}

async function appendCommand(
  uri: string,
  record: AppendRecord,
  options: ConditionOptions,
  verb: string,
): Promise<void> {
  const { stream } = openStream(uri);
  try {
    const ack = await stream.append(
      AppendInput.create([record], {
        ...(options.fencingToken !== undefined ? { fencingToken: options.fencingToken } : {}),
        ...(options.matchSeqNum !== undefined ? { matchSeqNum: options.matchSeqNum } : {}),
      }),
    );
    process.stderr.write(ackLine(verb, { start: ack.start.seqNum, end: ack.end.seqNum, tail: ack.tail }));
  } finally {
    await stream.close();
  }
}

function addConditionOptions(command: Command): Command {
  return command
    .option('-f, --fencing-token <token>', 'append only if this is the stream’s current fencing token')
    .option('-m, --match-seq-num <n>', 'append only if the stream’s next sequence number is this', (v) =>
      parseCount(v),
    );
}

export function registerRecordCommands(program: Command): void {
  program
    .command('check-tail')
    .description('Print the tail of a stream: the next sequence number and the last timestamp (tab-separated).')
    .argument('<uri>', 's2://basin/stream')
    .addHelpText('after', '\nExample:\n  s2-lite check-tail s2://my-basin-01/orders\n')
    .action(
      action(async (uri: string) => {
        const { stream } = openStream(uri);
        try {
          const { tail } = await stream.checkTail();
          process.stdout.write(`${tail.seqNum}\t${tail.timestamp.getTime()}\n`);
        } finally {
          await stream.close();
        }
      }),
    );

  addConditionOptions(
    program
      .command('append')
      .description('Append newline-delimited records from stdin (or a file); prints the acknowledged range on stderr.')
      .argument('<uri>', 's2://basin/stream')
      .option('-i, --input <file>', 'read records from this file instead of stdin'),
  )
    .addOption(formatOption())
    .addOption(durationOption('--linger <duration>', 'how long to wait for more records before sending a batch', '5ms'))
    .addHelpText(
      'after',
      "\nExamples:\n  printf 'a\\nb\\n' | s2-lite append s2://my-basin-01/orders\n" +
        '  echo \'{"headers":[["k","v"]],"body":"hi"}\' | s2-lite append s2://my-basin-01/orders --format json\n',
    )
    .action(action(async (uri: string, options: AppendOptions) => append(uri, options)));

  program
    .command('read')
    .description('Print records of a stream, one per line; without a limit it keeps following the tail (Ctrl-C ends).')
    .argument('<uri>', 's2://basin/stream')
    .option('-s, --seq-num <n>', 'start at this sequence number (default 0)', (v) => parseCount(v))
    .option('--timestamp <ms>', 'start at the first record at or after this timestamp (ms)', (v) => parseCount(v))
    .option('--ago <duration>', 'start at records this long ago, e.g. 1h', parseDurationArg)
    .option('--tail-offset <n>', 'start this many records before the tail', (v) => parseCount(v))
    .option('-n, --count <n>', 'stop after this many records', (v) => parseCount(v))
    .option('-b, --bytes <size>', 'stop after this many metered bytes, e.g. 1MiB', parseSizeArg)
    .option('--clamp', 'start at the tail if the start position is beyond it')
    .option('--until <ms>', 'stop before the first record with a timestamp at or after this (ms)', (v) => parseCount(v))
    .addOption(formatOption())
    .option('-o, --output <file>', 'write records to this file instead of stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  s2-lite read s2://my-basin-01/orders -s 0 -n 2\n  s2-lite read s2://my-basin-01/orders --ago 1h --format json\n',
    )
    .action(action(async (uri: string, options: ReadOptions) => read(uri, options)));

  program
    .command('tail')
    .description('Print the last records of a stream; with -f keep following it.')
    .argument('<uri>', 's2://basin/stream')
    .option('-n, --lines <n>', 'how many of the last records', (v) => parseCount(v), 10)
    .option('-f, --follow', 'keep printing new records as they arrive (Ctrl-C ends)')
    .addOption(formatOption())
    .addHelpText('after', '\nExample:\n  s2-lite tail s2://my-basin-01/orders -n 5 -f\n')
    .action(
      action(async (uri: string, options: { lines: number; follow?: boolean; format: RecordFormat }) =>
        tail(uri, options),
      ),
    );

  addConditionOptions(
    program
      .command('fence')
      .description('Set a new fencing token on a stream (appends a fence command record).')
      .argument('<uri>', 's2://basin/stream')
      .argument('<new-fencing-token>', 'the new token (at most 36 bytes; "" clears it)'),
  )
    .addHelpText('after', '\nExample:\n  s2-lite fence s2://my-basin-01/orders writer-2 -f writer-1\n')
    .action(
      action(async (uri: string, token: string, options: ConditionOptions) =>
        appendCommand(uri, AppendRecord.fence(token), options, 'FENCED'),
      ),
    );

  addConditionOptions(
    program
      .command('trim')
      .description('Trim a stream: records before the trim point are deleted (appends a trim command record).')
      .argument('<uri>', 's2://basin/stream')
      .argument('<trim-point>', 'first sequence number to keep', (v) => parseCount(v)),
  )
    .addHelpText('after', '\nExample:\n  s2-lite trim s2://my-basin-01/orders 1000\n')
    .action(
      action(async (uri: string, trimPoint: number, options: ConditionOptions) =>
        appendCommand(uri, AppendRecord.trim(trimPoint), options, 'TRIMMED'),
      ),
    );
}

/**
 * `bench BASIN`: a behavioural clone of `s2 bench` (see bench/run.ts for the workload). Text
 * lines go to stdout (or one JSON object with `--json`); the live progress block goes to stderr
 * only when it is a terminal. Exits 1 when verification fails.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { durationOption, parsePositiveNumber, parseSizeArg } from '../args.js';
import { action, basinClient, parseBasinArg } from '../client.js';
import { maxRecordSize, minRecordSize } from '../bench/records.js';
import { jsonReport, liveBlock, progressLines, textReport } from '../bench/report.js';
import { BenchRun } from '../bench/run.js';

interface BenchFlags {
  recordSize: number;
  targetMibps: number;
  duration: number;
  catchupDelay: number;
  linger: number;
  storageClass?: 'standard' | 'express';
  json?: boolean;
  append: 's2s' | 'proto';
  read: 's2s' | 'sse';
}

function parseRecordSize(text: string): number {
  const size = parseSizeArg(text);
  if (size < minRecordSize || size > maxRecordSize) throw new InvalidArgumentError('must be between 128 B and 1 MiB');
  return size;
}

async function bench(basinArg: string, flags: BenchFlags): Promise<void> {
  const basin = parseBasinArg(basinArg);
  const run = new BenchRun(basinClient(basin), {
    recordSize: flags.recordSize,
    targetMibps: flags.targetMibps,
    durationMs: flags.duration,
    catchupDelayMs: flags.catchupDelay,
    lingerMs: flags.linger,
    ...(flags.storageClass ? { storageClass: flags.storageClass } : {}),
    // The SDK's `fetch` transport appends with unary protobuf requests and reads over SSE.
    appendTransport: flags.append === 'proto' ? 'fetch' : 's2s',
    readTransport: flags.read === 'sse' ? 'fetch' : 's2s',
    readerGraceMs: 30_000,
    drainTimeoutMs: 60_000,
  });
  const display = process.stderr.isTTY
    ? liveBlock(process.stderr, () => progressLines(run.progress, flags.recordSize, flags.duration))
    : undefined;
  // Ctrl-C still removes the temporary stream.
  process.once('SIGINT', () => {
    display?.stop();
    process.stderr.write(`interrupted: deleting s2://${basin}/${run.streamName}\n`);
    void run.deleteStream().then(() => process.exit(130));
  });
  let result;
  try {
    result = await run.run();
  } finally {
    display?.stop();
  }
  process.stdout.write(flags.json ? jsonReport(result) : textReport(result));
  if (!result.verification.ok) {
    process.stderr.write(`error: bench verification failed: ${result.verification.details.join('; ')}\n`);
    process.exitCode = 1;
  }
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'Benchmark a basin like `s2 bench`: write at a target rate to a temporary stream while reading it live, ' +
        'then catch up from the start; report throughput and latency percentiles and verify every record.',
    )
    .argument('<basin>', 'basin to run in (a temporary stream bench/<uuid> is created and deleted)')
    .addOption(
      new Option('-b, --record-size <size>', 'metered size of each record, 128 B to 1 MiB')
        .argParser(parseRecordSize)
        .default(8192, '8KiB'),
    )
    .option('-t, --target-mibps <n>', 'target write throughput in MiB/s', parsePositiveNumber, 1)
    .addOption(durationOption('-d, --duration <duration>', 'how long to write', '60s'))
    .addOption(
      durationOption('-w, --catchup-delay <duration>', 'wait this long after writing before the catch-up read', '20s'),
    )
    .addOption(
      new Option('-c, --storage-class <class>', 'storage class of the temporary stream').choices([
        'standard',
        'express',
      ]),
    )
    .addOption(
      durationOption('--linger <duration>', 'producer linger before a batch is sent (0 for the latency floor)', '5ms'),
    )
    .addOption(
      new Option('--append <transport>', 'append transport: s2s session, or unary protobuf')
        .choices(['s2s', 'proto'])
        .default('s2s'),
    )
    .addOption(
      new Option('--read <transport>', 'read transport: s2s session, or SSE').choices(['s2s', 'sse']).default('s2s'),
    )
    .option('--json', 'print one JSON object with every metric instead of text lines')
    .addHelpText(
      'after',
      '\nExample (against a local s2-lite):\n  s2-lite bench my-basin-01 --target-mibps 10 --duration 5s --catchup-delay 0s\n',
    )
    .action(action(bench));
}

/**
 * `verify collect s2://basin/stream`: concurrent clients against any S2 endpoint, writing the JSONL
 * linearizability history of S2's verification format; `verify check FILE`: decides whether a
 * history (ours or one from S2's own collector) is linearizable. Exit codes of `check`: 0
 * linearizable, 1 not linearizable (or an unreadable history), 3 undecided within `--max-steps`.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { durationOption, parseCount } from '../args.js';
import { action, clientConfig, parseStreamUri } from '../client.js';
import { checkHistory } from '../../verify/checker.js';
import { collect } from '../../verify/collect.js';
import { parseHistory } from '../../verify/history.js';

interface CollectFlags {
  clients: number;
  duration: number;
  operations?: number;
  output?: string;
  seed?: number;
  create?: boolean;
  requestTimeout: number;
  batchMax: number;
  check?: boolean;
}

interface CheckFlags {
  maxSteps?: number;
}

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Prints the verdict; returns the exit code. */
function report(text: string, flags: CheckFlags): number {
  const result = checkHistory(parseHistory(text), { maxSteps: flags.maxSteps });
  process.stdout.write(`${result.summary}\n`);
  if (result.report) process.stdout.write(`${result.report}\n`);
  return result.verdict === 'linearizable' ? 0 : result.verdict === 'not-linearizable' ? 1 : 3;
}

async function collectCommand(uri: string, flags: CollectFlags): Promise<void> {
  const { basin, stream } = parseStreamUri(uri);
  const config = clientConfig();
  const lines: string[] = [];
  const file = flags.output && flags.output !== '-' ? createWriteStream(flags.output) : undefined;
  const out = file ?? process.stdout;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const summary = await collect({
    target: { basinEndpoint: () => config.basinEndpoint, accessToken: config.accessToken, basin, stream },
    accountEndpoint: () => config.accountEndpoint,
    create: flags.create,
    clients: flags.clients,
    durationMs: flags.duration,
    operations: flags.operations,
    seed: flags.seed,
    workload: { batchMax: flags.batchMax },
    requestTimeoutMs: flags.requestTimeout,
    signal: abort.signal,
    sink(line) {
      out.write(`${line}\n`);
      if (flags.check) lines.push(line);
    },
  });
  if (file)
    await new Promise<void>((resolve, reject) =>
      file.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  process.stderr.write(
    `collected ${summary.operations} operations (${summary.failures} failed) in ${(summary.durationMs / 1000).toFixed(1)} s\n`,
  );
  if (flags.check) process.exitCode = report(lines.join('\n'), {});
}

export function registerVerifyCommands(program: Command): void {
  const verify = program
    .command('verify')
    .description('Check that a stream is linearizable: collect a history of concurrent clients, or check one.');

  verify
    .command('collect')
    .description(
      'Run concurrent clients (appends with random batch sizes, match_seq_num and fencing tokens, fences, reads ' +
        'from seq_num 0, check-tails) against a stream and write their history as JSON Lines.',
    )
    .argument('<uri>', 'the stream, s2://basin/stream (records are appended to it)')
    .option('-n, --clients <n>', 'concurrent clients', (v) => parseCount(v, 1), 8)
    .addOption(durationOption('-d, --duration <duration>', 'how long to run', '30s'))
    .option('--operations <n>', 'stop after this many operations in total', (v) => parseCount(v, 1))
    .option('-o, --output <file>', 'write the history here (default stdout)')
    .option('--seed <n>', 'seed the clients\u2019 choices (batch sizes, conditions)', (v) => parseCount(v))
    .option('--create', 'create the basin and stream if they do not exist')
    .addOption(durationOption('--request-timeout <duration>', 'give up on a request after this long', '10s'))
    .addOption(new Option('--batch-max <n>', 'most records per append').argParser((v) => parseCount(v, 1)).default(10))
    .option('--check', 'check the history when done (exit code as for `verify check`)')
    .addHelpText(
      'after',
      '\nExample:\n  s2-lite verify collect s2://my-basin-01/verify --create -d 10s -o history.jsonl --check\n',
    )
    .action(action(collectCommand));

  verify
    .command('check')
    .description('Decide whether a history (JSON Lines, S2 verification format) is linearizable.')
    .argument('<file>', 'the history file, or - for stdin')
    .option('--max-steps <n>', 'give up (exit 3) after this many search steps', (v) => parseCount(v, 1))
    .action(
      action(async (file: string, flags: CheckFlags) => {
        process.exitCode = report(await readInput(file), flags);
      }),
    );

  for (const command of verify.commands) command.showHelpAfterError(false);
}

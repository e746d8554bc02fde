#!/usr/bin/env node
/**
 * The `s2-lite` command. `serve` (alias `lite`) runs the server; client commands talk to any S2
 * endpoint through the official SDK (see docs/cli.md).
 *
 * The server's heap floor (limits.ts, serverOldSpaceFloorMiB) is a node flag that V8 reads only
 * when it creates the heap, so it cannot be set from here: `npm start` passes it. The shebang stays
 * the portable `env node`, because `env -S node <flags>` fails outright where env is BusyBox's
 * (Alpine images): a slower GC there is better than a bin that does not start (docs/configuration.md).
 */
import { Command, Option } from 'commander';
import { serveDefaults, type ServeOptions } from './serve-options.js';
import { registerAccessTokenCommands } from './commands/access-tokens.js';
import { registerApplyCommand } from './commands/apply.js';
import { registerBasinCommands } from './commands/basins.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerRecordCommands } from './commands/records.js';
import { registerStreamCommands } from './commands/streams.js';
import { registerVerifyCommands } from './commands/verify.js';

function exitWithError(error: unknown): never {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

export function buildProgram(): Command {
  const program = new Command('s2-lite')
    .description('A self-hostable S2 server (REST, SSE and S2S) and a command line for S2 streams.')
    .showHelpAfterError();

  program
    .command('serve')
    .alias('lite')
    .description('Run the server.')
    .option('--host <host>', 'address to bind (use 0.0.0.0 to accept remote connections)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (default 8080, or 443 with TLS)', (v) => Number.parseInt(v, 10))
    .option('--local-root <dir>', 'keep data on local disk under this directory (fsync before acknowledging)')
    .option('--bucket <name>', 'keep data in this S3 bucket (AWS_* environment variables configure the client)')
    .option('--path <prefix>', 'key prefix inside the bucket', '')
    .option('--tls-self', 'serve HTTPS with a self-signed certificate for localhost', false)
    .option('--tls-cert <file>', 'TLS certificate (PEM); requires --tls-key')
    .option('--tls-key <file>', 'TLS private key (PEM); requires --tls-cert')
    .option('--no-cors', 'do not send CORS headers')
    .option('--no-console', 'do not serve the web console at / and /console/')
    .addOption(
      new Option('--init-file <file>', 'basins and streams to create or update at startup (JSON)').env(
        'S2LITE_INIT_FILE',
      ),
    )
    .option(
      '--append-inflight-bytes <size>',
      'budget of appended bytes awaiting durability',
      serveDefaults.appendInflightBytes,
    )
    .option(
      '--flush-interval <duration>',
      'minimum time between storage flushes (default 0 on disk/memory, 50ms on S3)',
    )
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
    .option('--auth', 'require an access token on every request (see docs/security.md)')
    .option(
      '--root-token-file <file>',
      'the root token (with --auth; or S2LITE_ROOT_TOKEN); default: generated at first start, printed once',
    )
    .option('--rotate-root-token', 'generate a new root token, replacing the stored one (with --auth)')
    .option('--metrics-auth', '/metrics also requires a token allowed account-metrics (with --auth)')
    .addHelpText(
      'after',
      '\nExamples:\n  s2-lite serve --port 8080 --local-root ./data\n' +
        '  s2-lite serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem --auth --local-root ./data\n',
    )
    .action(async (options: ServeOptions) => {
      // Loaded here, not at the top: the server is most of the code, and client commands skip it.
      const { serve } = await import('./serve.js');
      await serve(options).catch(exitWithError);
    });

  // Client commands, named and flagged like the official `s2` CLI. They read S2_ACCOUNT_ENDPOINT,
  // S2_BASIN_ENDPOINT and S2_ACCESS_TOKEN, and default to a local server on port 8080.
  registerBasinCommands(program);
  registerStreamCommands(program);
  registerRecordCommands(program);
  registerAccessTokenCommands(program);
  registerApplyCommand(program);
  registerBenchCommand(program);
  registerVerifyCommands(program);
  // A mistake in a client command is one line on stderr (commander's), not the whole help text.
  for (const command of program.commands) if (command.name() !== 'serve') command.showHelpAfterError(false);

  return program;
}

await buildProgram().parseAsync(process.argv).catch(exitWithError);

/**
 * Basin commands: list-basins (and `ls`), create-basin, delete-basin, get-basin-config,
 * reconfigure-basin. Listing pages through the results itself (rather than the SDK's listAll) so
 * `--start-after` works and basins being deleted are shown with their state, as the official CLI does.
 */
import type { Command } from 'commander';
import { action, parseBasinArg, parseUri, s2Client } from '../client.js';
import { parseCount } from '../args.js';
import {
  addBasinConfigOptions,
  basinConfigFromFlags,
  basinConfigToSpec,
  streamConfigFromFlags,
  type BasinConfigFlags,
} from '../config.js';
import { table } from '../output.js';
import { paginate, type ListOptions } from '../paginate.js';
import { listStreams } from './streams.js';

export async function listBasins(options: ListOptions): Promise<void> {
  await paginate(
    options,
    async (args) => {
      const page = await s2Client().basins.list(args);
      return { items: page.basins, hasMore: page.hasMore };
    },
    (basins) => process.stdout.write(table(basins.map((b) => [b.name, b.deletedAt ? 'deleting' : 'active']))),
  );
}

function addListOptions(command: Command): Command {
  return command
    .option('-p, --prefix <prefix>', 'only names starting with this prefix')
    .option('-s, --start-after <name>', 'only names after this one (for paging)')
    .option('-n, --limit <n>', 'at most this many results', (v) => parseCount(v, 1));
}

export function registerBasinCommands(program: Command): void {
  addListOptions(program.command('list-basins').description('List basins.'))
    .addHelpText('after', '\nExample:\n  s2-lite list-basins --prefix my-\n')
    .action(action(async (options: ListOptions) => listBasins(options)));

  addListOptions(
    program
      .command('ls')
      .description('List basins, or the streams of a basin (s2://basin or s2://basin/prefix).')
      .argument('[uri]', 's2://basin to list its streams'),
  )
    .addHelpText('after', '\nExamples:\n  s2-lite ls\n  s2-lite ls s2://my-basin\n  s2-lite ls s2://my-basin/orders-\n')
    .action(
      action(async (uri: string | undefined, options: ListOptions) => {
        if (!uri) return listBasins(options);
        const { basin, stream } = parseUri(uri, 'either');
        return listStreams(basin, { ...options, prefix: options.prefix ?? stream });
      }),
    );

  addBasinConfigOptions(
    program.command('create-basin').description('Create a basin.').argument('<basin>', 'basin name (8-48 characters)'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  s2-lite create-basin my-basin-01 --create-stream-on-append --retention-policy 7d\n',
    )
    .action(
      action(async (basinArg: string, flags: BasinConfigFlags) => {
        const basin = parseBasinArg(basinArg);
        const info = await s2Client().basins.create({ basin, config: basinConfigFromFlags(flags) });
        process.stdout.write(`created basin ${info.name}\n`);
      }),
    );

  program
    .command('delete-basin')
    .description('Delete a basin and all its streams (deletion completes in the background).')
    .argument('<basin>', 'basin name')
    .addHelpText('after', '\nExample:\n  s2-lite delete-basin my-basin-01\n')
    .action(
      action(async (basinArg: string) => {
        const basin = parseBasinArg(basinArg);
        await s2Client().basins.delete({ basin });
        process.stdout.write(`deletion of basin ${basin} requested\n`);
      }),
    );

  program
    .command('get-basin-config')
    .description('Print the configuration of a basin (JSON, in the shape `apply` reads).')
    .argument('<basin>', 'basin name')
    .addHelpText('after', '\nExample:\n  s2-lite get-basin-config my-basin-01\n')
    .action(
      action(async (basinArg: string) => {
        const config = await s2Client().basins.getConfig({ basin: parseBasinArg(basinArg) });
        process.stdout.write(`${JSON.stringify(basinConfigToSpec(config), null, 2)}\n`);
      }),
    );

  addBasinConfigOptions(
    program
      .command('reconfigure-basin')
      .description('Change the given settings of a basin; settings not given stay as they are.')
      .argument('<basin>', 'basin name'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  s2-lite reconfigure-basin my-basin-01 --create-stream-on-read --retention-policy infinite\n',
    )
    .action(
      action(async (basinArg: string, flags: BasinConfigFlags) => {
        const basin = parseBasinArg(basinArg);
        const defaults = streamConfigFromFlags(flags);
        const config = await s2Client().basins.reconfigure({
          basin,
          ...(defaults ? { defaultStreamConfig: defaults } : {}),
          ...(flags.createStreamOnAppend !== undefined ? { createStreamOnAppend: flags.createStreamOnAppend } : {}),
          ...(flags.createStreamOnRead !== undefined ? { createStreamOnRead: flags.createStreamOnRead } : {}),
        });
        process.stdout.write(`${JSON.stringify(basinConfigToSpec(config), null, 2)}\n`);
      }),
    );
}

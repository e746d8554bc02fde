/**
 * Stream commands: list-streams, create-stream, delete-stream, get-stream-config,
 * reconfigure-stream. Streams are named by `s2://basin/stream` URIs, as in the official CLI.
 */
import type { Command } from 'commander';
import { parseCount } from '../args.js';
import { action, basinClient, parseBasinArg, parseStreamUri, parseUri } from '../client.js';
import {
  addStreamConfigOptions,
  streamConfigFromFlags,
  streamConfigToSpec,
  type StreamConfigFlags,
} from '../config.js';
import { table } from '../output.js';
import { paginate, type ListOptions } from '../paginate.js';

export async function listStreams(basin: string, options: ListOptions): Promise<void> {
  const streams = basinClient(basin).streams;
  await paginate(
    options,
    async (args) => {
      const page = await streams.list(args);
      return { items: page.streams, hasMore: page.hasMore };
    },
    (items) =>
      process.stdout.write(
        table(
          items.map((s) => [
            `s2://${basin}/${s.name}`,
            s.createdAt.toISOString(),
            ...(s.deletedAt ? ['deleting'] : []),
          ]),
        ),
      ),
  );
}

export function registerStreamCommands(program: Command): void {
  program
    .command('list-streams')
    .description('List the streams of a basin.')
    .argument('<basin>', 's2://basin (or s2://basin/prefix)')
    .option('-p, --prefix <prefix>', 'only streams whose name starts with this prefix')
    .option('-s, --start-after <name>', 'only streams after this name (for paging)')
    .option('-n, --limit <n>', 'at most this many results', (v) => parseCount(v, 1))
    .addHelpText('after', '\nExample:\n  s2-lite list-streams s2://my-basin-01 --prefix orders-\n')
    .action(
      action(async (uri: string, options: ListOptions) => {
        const { basin, stream } = uri.startsWith('s2://') ? parseUri(uri, 'either') : { basin: parseBasinArg(uri) };
        await listStreams(basin, { ...options, prefix: options.prefix ?? stream });
      }),
    );

  addStreamConfigOptions(
    program.command('create-stream').description('Create a stream.').argument('<uri>', 's2://basin/stream'),
  )
    .addHelpText('after', '\nExample:\n  s2-lite create-stream s2://my-basin-01/orders --retention-policy infinite\n')
    .action(
      action(async (uri: string, flags: StreamConfigFlags) => {
        const { basin, stream } = parseStreamUri(uri);
        const config = streamConfigFromFlags(flags);
        await basinClient(basin).streams.create({ stream, ...(config ? { config } : {}) });
        process.stdout.write(`created stream s2://${basin}/${stream}\n`);
      }),
    );

  program
    .command('delete-stream')
    .description('Delete a stream (deletion completes in the background).')
    .argument('<uri>', 's2://basin/stream')
    .addHelpText('after', '\nExample:\n  s2-lite delete-stream s2://my-basin-01/orders\n')
    .action(
      action(async (uri: string) => {
        const { basin, stream } = parseStreamUri(uri);
        await basinClient(basin).streams.delete({ stream });
        process.stdout.write(`deletion of stream s2://${basin}/${stream} requested\n`);
      }),
    );

  program
    .command('get-stream-config')
    .description('Print the configuration of a stream (JSON, in the shape `apply` reads).')
    .argument('<uri>', 's2://basin/stream')
    .addHelpText('after', '\nExample:\n  s2-lite get-stream-config s2://my-basin-01/orders\n')
    .action(
      action(async (uri: string) => {
        const { basin, stream } = parseStreamUri(uri);
        const config = await basinClient(basin).streams.getConfig({ stream });
        process.stdout.write(`${JSON.stringify(streamConfigToSpec(config), null, 2)}\n`);
      }),
    );

  addStreamConfigOptions(
    program
      .command('reconfigure-stream')
      .description('Change the given settings of a stream; settings not given stay as they are.')
      .argument('<uri>', 's2://basin/stream'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  s2-lite reconfigure-stream s2://my-basin-01/orders --timestamping-mode arrival\n',
    )
    .action(
      action(async (uri: string, flags: StreamConfigFlags) => {
        const { basin, stream } = parseStreamUri(uri);
        const config = await basinClient(basin).streams.reconfigure({ stream, ...streamConfigFromFlags(flags) });
        process.stdout.write(`${JSON.stringify(streamConfigToSpec(config), null, 2)}\n`);
      }),
    );
}

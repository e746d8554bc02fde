/**
 * `apply FILE`: make basins and streams match a declarative spec (the shape of `serve
 * --init-file`, parsed by spec.ts). Each resource is compared with what the server has, then
 * ensured (PUT: created, or its config replaced). Nothing is deleted. `--dry-run` prints the plan
 * (create / update with the changed fields / unchanged) and changes nothing.
 */
import { S2Error } from '@s2-dev/streamstore';
import type { Command } from 'commander';
import { action, basinClient, s2Client, UsageError } from '../client.js';
import { basinConfigToSdk, basinConfigToSpec, layerToSdk, streamConfigToSpec } from '../config.js';
import { style, table } from '../output.js';
import { loadResourceSpec, type ResourceSpec } from '../../lite/spec.js';

type Flat = Record<string, string>;

/** `{a: {b: 1}}` -> `{"a.b": "1"}`, so configs compare and diff field by field. */
function flatten(value: Record<string, unknown>, prefix = '', into: Flat = {}): Flat {
  for (const [key, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, path, into);
    else if (v !== undefined) into[path] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return into;
}

function diff(current: Flat, desired: Flat): string[] {
  const keys = [...new Set([...Object.keys(current), ...Object.keys(desired)])].sort();
  return keys
    .filter((k) => current[k] !== desired[k])
    .map((k) => `${k}: ${current[k] ?? '(unset)'} -> ${desired[k] ?? '(unset)'}`);
}

/** The system defaults every unset stream field falls back to (api.md 5.1), in spec shape. */
const systemStreamDefaults: Flat = flatten({
  storage_class: 'express',
  retention_policy: '7d',
  timestamping: { mode: 'client-prefer', uncapped: false },
  delete_on_empty: { min_age: '0s' },
});

type Action = 'create' | 'update' | 'unchanged';

interface Step {
  kind: 'basin' | 'stream';
  basin: string;
  stream?: string;
  action: Action;
  changes: string[];
  run(): Promise<Action>;
}

function isNotFound(error: unknown): boolean {
  return error instanceof S2Error && error.status === 404;
}

/** Compares the spec with the server, resource by resource, without changing anything. */
async function plan(spec: ResourceSpec): Promise<Step[]> {
  const s2 = s2Client();
  const steps: Step[] = [];
  const outcome = (result: 'created' | 'updated' | 'noop'): Action =>
    result === 'created' ? 'create' : result === 'updated' ? 'update' : 'unchanged';
  for (const basinSpec of spec.basins) {
    const desiredSdk = basinConfigToSdk(basinSpec.config);
    const desired = flatten(basinConfigToSpec(desiredSdk));
    const current = await s2.basins.getConfig({ basin: basinSpec.name }).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    const basinChanges = current ? diff(flatten(basinConfigToSpec(current)), desired) : [];
    steps.push({
      kind: 'basin',
      basin: basinSpec.name,
      action: !current ? 'create' : basinChanges.length > 0 ? 'update' : 'unchanged',
      changes: basinChanges,
      run: async () => outcome((await s2.basins.ensure({ basin: basinSpec.name, config: desiredSdk })).result),
    });

    // Streams resolve unset fields from the basin's defaults as they will be once the basin is ensured.
    const basinDefaults = flatten(
      (basinConfigToSpec(desiredSdk).default_stream_config as Record<string, unknown>) ?? {},
    );
    const streams = basinClient(basinSpec.name).streams;
    for (const streamSpec of basinSpec.streams) {
      const streamSdk = layerToSdk(streamSpec.config);
      const resolved = { ...systemStreamDefaults, ...basinDefaults, ...flatten(streamConfigToSpec(streamSdk)) };
      const currentStream = current
        ? await streams.getConfig({ stream: streamSpec.name }).catch((error: unknown) => {
            if (isNotFound(error)) return undefined;
            throw error;
          })
        : undefined;
      const changes = currentStream ? diff(flatten(streamConfigToSpec(currentStream)), resolved) : [];
      steps.push({
        kind: 'stream',
        basin: basinSpec.name,
        stream: streamSpec.name,
        action: !currentStream ? 'create' : changes.length > 0 ? 'update' : 'unchanged',
        changes,
        run: async () => outcome((await streams.ensure({ stream: streamSpec.name, config: streamSdk })).result),
      });
    }
  }
  return steps;
}

const pastTense: Record<Action, string> = { create: 'created', update: 'updated', unchanged: 'unchanged' };

function row(step: Step, verb: string): string[] {
  const name = step.kind === 'basin' ? step.basin : `s2://${step.basin}/${step.stream}`;
  return [verb, step.kind, name, step.changes.join(', ')];
}

async function apply(fileArg: string | undefined, options: { file?: string; dryRun?: boolean }): Promise<void> {
  const file = fileArg ?? options.file;
  if (!file) throw new UsageError('no spec file given (s2-lite apply FILE)');
  const spec = loadResourceSpec(file);
  const steps = await plan(spec);
  if (options.dryRun) {
    process.stdout.write(table(steps.map((step) => row(step, step.action))));
    const pending = steps.filter((s) => s.action !== 'unchanged').length;
    process.stderr.write(
      style.dim(`dry run: ${pending} of ${steps.length} resources would change; nothing was changed\n`),
    );
    return;
  }
  const rows: string[][] = [];
  for (const step of steps) {
    const result = await step.run();
    rows.push(row(step, pastTense[result]));
  }
  process.stdout.write(table(rows));
}

export function registerApplyCommand(program: Command): void {
  program
    .command('apply')
    .description('Create or update basins and streams to match a spec file (JSON, the shape of serve --init-file).')
    .argument('[file]', 'spec file')
    .option('-f, --file <file>', 'spec file (alternative to the argument)')
    .option('--dry-run', 'only show what would be created, updated or left unchanged')
    .addHelpText(
      'after',
      '\nExample spec:\n' +
        '  {"basins": [{"name": "my-basin-01", "config": {"create_stream_on_append": true},\n' +
        '               "streams": [{"name": "orders", "config": {"retention_policy": "infinite"}}]}]}\n' +
        '\nExamples:\n  s2-lite apply spec.json --dry-run\n  s2-lite apply spec.json\n',
    )
    .action(action(apply));
}

/**
 * The control-plane commands (basins, streams, apply) and error reporting, each run as a real
 * `s2-lite` process against a real `s2-lite serve` process.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { cli, cliServer } from './support.js';

// Every step is a process start; on a loaded machine that can take seconds. No timing is asserted.
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

const tmp = mkdtempSync(path.join(tmpdir(), 's2-cli-'));

const setup = cliServer();

/** Runs the CLI, expects success and returns stdout. */
async function ok(args: string[], input?: string): Promise<string> {
  const result = await cli(setup.url, args, input);
  expect(result.stderr, `stderr of ${args.join(' ')}`).not.toMatch(/^error/m);
  expect(result.code, `exit code of ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

function rows(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.trim().split(/\s{2,}/));
}

describe('basins', () => {
  it('creates, lists, configures and deletes basins', async () => {
    expect(await ok(['list-basins', '--prefix', 'cli-basins-'])).toBe('');
    expect(
      await ok([
        'create-basin',
        'cli-basins-one',
        '--create-stream-on-append',
        '--retention-policy',
        '7d',
        '--timestamping-mode',
        'arrival',
        '--delete-on-empty-min-age',
        '1h',
      ]),
    ).toBe('created basin cli-basins-one\n');
    await ok(['create-basin', 's2://cli-basins-two']);
    await ok(['create-basin', 'cli-basins-three', '--create-stream-on-read', 'true', '--storage-class', 'standard']);

    expect(JSON.parse(await ok(['get-basin-config', 'cli-basins-one']))).toEqual({
      create_stream_on_append: true,
      create_stream_on_read: false,
      default_stream_config: {
        retention_policy: '7d',
        timestamping: { mode: 'arrival' },
        delete_on_empty: { min_age: '1h' },
      },
    });
    expect(JSON.parse(await ok(['get-basin-config', 'cli-basins-three']))).toEqual({
      create_stream_on_append: false,
      create_stream_on_read: true,
      default_stream_config: { storage_class: 'standard' },
    });

    expect(rows(await ok(['list-basins', '--prefix', 'cli-basins-']))).toEqual([
      ['cli-basins-one', 'active'],
      ['cli-basins-three', 'active'],
      ['cli-basins-two', 'active'],
    ]);
    // `ls` with no argument is list-basins; paging flags work as in the official CLI.
    expect(rows(await ok(['ls', '-p', 'cli-basins-', '--start-after', 'cli-basins-one']))).toEqual([
      ['cli-basins-three', 'active'],
      ['cli-basins-two', 'active'],
    ]);
    expect(rows(await ok(['list-basins', '--prefix', 'cli-basins-', '--limit', '1']))).toEqual([
      ['cli-basins-one', 'active'],
    ]);

    // Reconfigure changes only what is given.
    const reconfigured = JSON.parse(
      await ok([
        'reconfigure-basin',
        'cli-basins-one',
        '--create-stream-on-append',
        'false',
        '--retention-policy',
        'infinite',
      ]),
    );
    expect(reconfigured).toEqual({
      create_stream_on_append: false,
      create_stream_on_read: false,
      default_stream_config: {
        retention_policy: 'infinite',
        timestamping: { mode: 'arrival' },
        delete_on_empty: { min_age: '1h' },
      },
    });
    expect(JSON.parse(await ok(['get-basin-config', 'cli-basins-one']))).toEqual(reconfigured);

    expect(await ok(['delete-basin', 'cli-basins-two'])).toBe('deletion of basin cli-basins-two requested\n');
    const after = rows(await ok(['list-basins', '--prefix', 'cli-basins-']));
    // Deletion is asynchronous: the basin is either gone or listed as deleting.
    expect(after.filter(([name]) => name !== 'cli-basins-two')).toEqual([
      ['cli-basins-one', 'active'],
      ['cli-basins-three', 'active'],
    ]);
    for (const row of after.filter(([name]) => name === 'cli-basins-two')) expect(row[1]).toBe('deleting');
  });
});

describe('streams', () => {
  it('creates, lists, configures and deletes streams', async () => {
    await ok(['create-basin', 'cli-streams-basin', '--retention-policy', '1d']);
    expect(await ok(['create-stream', 's2://cli-streams-basin/orders', '--storage-class', 'standard'])).toBe(
      'created stream s2://cli-streams-basin/orders\n',
    );
    await ok(['create-stream', 's2://cli-streams-basin/orders/eu', '--timestamping-uncapped']);
    await ok(['create-stream', 's2://cli-streams-basin/payments']);

    const listed = rows(await ok(['list-streams', 's2://cli-streams-basin']));
    expect(listed.map((r) => r[0])).toEqual([
      's2://cli-streams-basin/orders',
      's2://cli-streams-basin/orders/eu',
      's2://cli-streams-basin/payments',
    ]);
    for (const row of listed) expect(Number.isNaN(Date.parse(row[1]!))).toBe(false);
    expect(rows(await ok(['ls', 's2://cli-streams-basin/orders'])).map((r) => r[0])).toEqual([
      's2://cli-streams-basin/orders',
      's2://cli-streams-basin/orders/eu',
    ]);
    expect(
      rows(await ok(['list-streams', 's2://cli-streams-basin', '--start-after', 'orders/eu', '-n', '5'])).map(
        (r) => r[0],
      ),
    ).toEqual(['s2://cli-streams-basin/payments']);

    // Unset fields resolve from the basin default (1d) and then the system defaults.
    expect(JSON.parse(await ok(['get-stream-config', 's2://cli-streams-basin/orders']))).toEqual({
      storage_class: 'standard',
      retention_policy: '1d',
      timestamping: { mode: 'client-prefer', uncapped: false },
      delete_on_empty: { min_age: '0s' },
    });
    expect(JSON.parse(await ok(['get-stream-config', 's2://cli-streams-basin/orders/eu'])).timestamping).toEqual({
      mode: 'client-prefer',
      uncapped: true,
    });

    expect(
      JSON.parse(
        await ok([
          'reconfigure-stream',
          's2://cli-streams-basin/orders',
          '--retention-policy',
          'infinite',
          '--timestamping-mode',
          'client-require',
        ]),
      ),
    ).toEqual({
      storage_class: 'standard',
      retention_policy: 'infinite',
      timestamping: { mode: 'client-require', uncapped: false },
      delete_on_empty: { min_age: '0s' },
    });

    expect(await ok(['delete-stream', 's2://cli-streams-basin/payments'])).toBe(
      'deletion of stream s2://cli-streams-basin/payments requested\n',
    );
    const remaining = rows(await ok(['ls', 's2://cli-streams-basin']));
    expect(remaining.filter((r) => r[2] !== 'deleting').map((r) => r[0])).toEqual([
      's2://cli-streams-basin/orders',
      's2://cli-streams-basin/orders/eu',
    ]);
  });
});

describe('apply', () => {
  it('shows the plan with --dry-run, then creates and updates with ensure semantics', async () => {
    const specFile = path.join(tmp, 'spec.json');
    const spec = {
      basins: [
        {
          name: 'cli-apply-basin',
          config: { create_stream_on_append: true, default_stream_config: { retention_policy: '7d' } },
          streams: [
            { name: 'orders', config: { retention_policy: 'infinite', timestamping: { mode: 'arrival' } } },
            { name: 'events' },
          ],
        },
      ],
    };
    writeFileSync(specFile, JSON.stringify(spec));

    const plan = await cli(setup.url, ['apply', specFile, '--dry-run']);
    expect(plan.code).toBe(0);
    expect(rows(plan.stdout)).toEqual([
      ['create', 'basin', 'cli-apply-basin'],
      ['create', 'stream', 's2://cli-apply-basin/orders'],
      ['create', 'stream', 's2://cli-apply-basin/events'],
    ]);
    expect(plan.stderr).toContain('nothing was changed');
    // The dry run changed nothing.
    expect(await ok(['list-basins', '--prefix', 'cli-apply-'])).toBe('');

    expect(rows(await ok(['apply', specFile]))).toEqual([
      ['created', 'basin', 'cli-apply-basin'],
      ['created', 'stream', 's2://cli-apply-basin/orders'],
      ['created', 'stream', 's2://cli-apply-basin/events'],
    ]);
    expect(JSON.parse(await ok(['get-stream-config', 's2://cli-apply-basin/orders']))).toMatchObject({
      retention_policy: 'infinite',
      timestamping: { mode: 'arrival' },
    });
    expect(JSON.parse(await ok(['get-stream-config', 's2://cli-apply-basin/events'])).retention_policy).toBe('7d');

    // Applying the same spec again changes nothing.
    expect(rows(await ok(['apply', '--file', specFile, '--dry-run']))).toEqual([
      ['unchanged', 'basin', 'cli-apply-basin'],
      ['unchanged', 'stream', 's2://cli-apply-basin/orders'],
      ['unchanged', 'stream', 's2://cli-apply-basin/events'],
    ]);

    // A change in the basin defaults updates the basin and the stream that inherits it.
    spec.basins[0]!.config.default_stream_config.retention_policy = '1d';
    writeFileSync(specFile, JSON.stringify(spec));
    expect(rows(await ok(['apply', specFile, '--dry-run']))).toEqual([
      ['update', 'basin', 'cli-apply-basin', 'default_stream_config.retention_policy: 7d -> 1d'],
      ['unchanged', 'stream', 's2://cli-apply-basin/orders'],
      ['update', 'stream', 's2://cli-apply-basin/events', 'retention_policy: 7d -> 1d'],
    ]);
    expect(rows(await ok(['apply', specFile]))).toEqual([
      ['updated', 'basin', 'cli-apply-basin', 'default_stream_config.retention_policy: 7d -> 1d'],
      ['unchanged', 'stream', 's2://cli-apply-basin/orders'],
      ['updated', 'stream', 's2://cli-apply-basin/events', 'retention_policy: 7d -> 1d'],
    ]);
    expect(JSON.parse(await ok(['get-stream-config', 's2://cli-apply-basin/events'])).retention_policy).toBe('1d');
  });

  it('rejects an invalid spec with one line naming the problem', async () => {
    const specFile = path.join(tmp, 'bad.json');
    writeFileSync(
      specFile,
      JSON.stringify({ basins: [{ name: 'cli-apply-bad', streams: [{ name: 'x', config: { retention: '1d' } }] }] }),
    );
    const result = await cli(setup.url, ['apply', specFile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: spec.basins[0].streams[0].config: unknown field `retention` (expected one of storage_class, retention_policy, timestamping, delete_on_empty)\n',
    );
  });
});

describe('errors', () => {
  it('reports an unknown basin as one line on stderr and exits 1', async () => {
    const result = await cli(setup.url, ['get-basin-config', 'no-such-basin-here']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: basin `no-such-basin-here` not found \[basin_not_found\]\n$/);

    const streams = await cli(setup.url, ['create-stream', 's2://no-such-basin-here/s']);
    expect(streams.code).toBe(1);
    expect(streams.stderr).toMatch(/^error: basin `no-such-basin-here` not found \[basin_not_found\]\n$/);
  });

  it('reports an unknown stream, an existing basin and bad arguments as one line', async () => {
    await ok(['create-basin', 'cli-errors-basin']);
    const stream = await cli(setup.url, ['get-stream-config', 's2://cli-errors-basin/nope']);
    expect(stream.code).toBe(1);
    expect(stream.stderr).toMatch(
      /^error: stream `nope` in basin `cli-errors-basin` not found \[stream_not_found\]\n$/,
    );

    const exists = await cli(setup.url, ['create-basin', 'cli-errors-basin']);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/^error: .*already exists.*\n$/);

    const uri = await cli(setup.url, ['get-stream-config', 'cli-errors-basin/nope']);
    expect(uri.code).toBe(2);
    expect(uri.stderr).toBe('error: invalid S2 URI `cli-errors-basin/nope` (expected s2://basin/stream)\n');

    const flag = await cli(setup.url, ['create-stream', 's2://cli-errors-basin/x', '--retention-policy', 'soon']);
    expect(flag.code).toBe(1);
    expect(flag.stderr.trim().split('\n')).toHaveLength(1);
    expect(flag.stderr).toContain("'--retention-policy <age>' argument 'soon' is invalid");
  });

  it('names the endpoint when the server cannot be reached', async () => {
    const result = await cli('http://127.0.0.1:9', ['list-basins']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: cannot reach the S2 endpoint http:\/\/127\.0\.0\.1:9 .*\n$/);
  });
});

describe('help', () => {
  const commands = [
    'list-basins',
    'ls',
    'create-basin',
    'delete-basin',
    'get-basin-config',
    'reconfigure-basin',
    'list-streams',
    'create-stream',
    'delete-stream',
    'get-stream-config',
    'reconfigure-stream',
    'check-tail',
    'append',
    'read',
    'tail',
    'fence',
    'trim',
    'apply',
    'bench',
  ];

  it('has an example for every client command', async () => {
    const pending = [...commands];
    // A few at a time: each is a process start.
    const worker = async () => {
      for (let command = pending.shift(); command; command = pending.shift()) {
        const result = await cli(setup.url, [command, '--help']);
        expect(result.code, command).toBe(0);
        expect(result.stdout, command).toMatch(new RegExp(`Usage: s2-lite ${command}`));
        expect(result.stdout, command).toMatch(/Examples?(?: \(.*\))?:\n {2}.*s2-lite /);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  });
});

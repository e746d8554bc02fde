/**
 * The data-plane commands (append, read, tail, check-tail, fence, trim) as real processes against
 * a real server: records written in each format come back the same, conditions fail with one
 * line, and following reads see records appended later.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { cli, cliServer, shell, spawnCli, stopChild, watchOutput, type CliResult } from './support.js';

// Every step is a process start; on a loaded machine that can take seconds. No timing is asserted.
vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

const basin = 'cli-records-basin';
const tmp = mkdtempSync(path.join(tmpdir(), 's2-cli-records-'));

const setup = cliServer(basin);

function expectOk(result: CliResult, what: string): void {
  expect(result.stderr, what).not.toMatch(/^error/m);
  expect(result.code, `${what}: ${result.stderr}`).toBe(0);
}

async function ok(args: string[], input?: string | Buffer): Promise<CliResult> {
  const result = await cli(setup.url, args, input);
  expectOk(result, args.join(' '));
  return result;
}

async function newStream(name: string): Promise<string> {
  const uri = `s2://${basin}/${name}`;
  await ok(['create-stream', uri]);
  return uri;
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('append and read', () => {
  it('round-trips `printf a\\nb\\n | append` through read in text, json and json-base64', async () => {
    const uri = await newStream('text-roundtrip');
    const appended = await shell(setup.url, `printf 'a\\nb\\n' | $S2LITE append ${uri}`);
    expectOk(appended, 'append');
    expect(appended.stdout).toBe('');
    expect(appended.stderr).toMatch(/\[APPENDED\] 0\.\.2 \/\/ tail: 2 @ \d+\n$/);

    expect((await ok(['read', uri, '-s', '0', '-n', '2'])).stdout).toBe('a\nb\n');
    expect((await ok(['read', uri, '-s', '0', '-n', '2', '--format', 'raw'])).stdout).toBe('a\nb\n');

    const json = jsonLines((await ok(['read', uri, '-s', '0', '-n', '2', '--format', 'json'])).stdout);
    expect(json.map(({ seq_num, headers, body }) => ({ seq_num, headers, body }))).toEqual([
      { seq_num: 0, headers: [], body: 'a' },
      { seq_num: 1, headers: [], body: 'b' },
    ]);
    for (const record of json) expect(typeof record.timestamp).toBe('number');

    const b64 = jsonLines((await ok(['read', uri, '-s', '0', '-n', '2', '--format', 'json-base64'])).stdout);
    expect(b64.map(({ seq_num, body }) => ({ seq_num, body }))).toEqual([
      { seq_num: 0, body: 'YQ==' },
      { seq_num: 1, body: 'Yg==' },
    ]);
    expect(b64.map((r) => r.timestamp)).toEqual(json.map((r) => r.timestamp));
  });

  it('appends json records with headers and timestamps and reads them back the same', async () => {
    const uri = await newStream('json-roundtrip');
    const input = [
      { headers: [['content-type', 'text/plain']], body: 'héllo', timestamp: 1000 },
      { headers: [], body: '', timestamp: 2000 },
      {
        headers: [
          ['k', 'v'],
          ['k', 'w'],
        ],
        body: '{"nested":true}',
        timestamp: 3000,
      },
    ];
    await ok(['append', uri, '--format', 'json'], input.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const read = jsonLines((await ok(['read', uri, '-s', '0', '-n', '3', '--format', 'json'])).stdout);
    expect(read).toEqual(input.map((r, i) => ({ seq_num: i, ...r })));

    // The output of `read --format json` can be piped straight back into `append`.
    const copy = await newStream('json-copy');
    const piped = await shell(
      setup.url,
      `$S2LITE read ${uri} -s 0 -n 3 --format json | $S2LITE append ${copy} --format json`,
    );
    expectOk(piped, 'read | append');
    expect(jsonLines((await ok(['read', copy, '-s', '0', '-n', '3', '--format', 'json'])).stdout)).toEqual(read);
  });

  it('keeps binary bodies and headers exact in json-base64, from a file with -i', async () => {
    const uri = await newStream('binary');
    const body = Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x0d, 0x80]);
    const name = Buffer.from([0x01, 0x02]);
    const file = path.join(tmp, 'binary.jsonl');
    const lines = [
      { headers: [[name.toString('base64'), Buffer.from('v').toString('base64')]], body: body.toString('base64') },
      { body: Buffer.from('second').toString('base64') },
    ];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
    const appended = await ok(['append', uri, '-i', file, '--format', 'base64', '--linger', '0ms']);
    expect(appended.stderr).toMatch(/\[APPENDED\] 0\.\.2 /);
    const read = jsonLines((await ok(['read', uri, '-s', '0', '-n', '2', '--format', 'json-binsafe'])).stdout);
    expect(read.map(({ headers, body }) => ({ headers, body }))).toEqual([
      { headers: lines[0]!.headers, body: lines[0]!.body },
      { headers: [], body: lines[1]!.body },
    ]);
    // In text format the body bytes are written as they are, one record per line.
    const text = await ok(['read', uri, '-s', '0', '-n', '1']);
    expect(text.stdoutBytes).toEqual(Buffer.concat([body, Buffer.from('\n')]));
  });

  it('appends many records in batches and reads them with start and limit options', async () => {
    const uri = await newStream('many');
    const input = Array.from({ length: 2500 }, (_, i) => `record-${i}`).join('\n') + '\n';
    const appended = await ok(['append', uri], input);
    expect(appended.stderr).toMatch(/\[APPENDED\] 0\.\.2500 /);

    expect((await ok(['check-tail', uri])).stdout).toMatch(/^2500\t\d+\n$/);
    const all = (await ok(['read', uri, '-s', '0', '-n', '2500'])).stdout.split('\n').filter(Boolean);
    expect(all).toEqual(Array.from({ length: 2500 }, (_, i) => `record-${i}`));

    expect((await ok(['read', uri, '-s', '2498', '-n', '10'])).stdout).toBe('record-2498\nrecord-2499\n');
    expect((await ok(['read', uri, '--tail-offset', '3', '-n', '2'])).stdout).toBe('record-2497\nrecord-2498\n');
    // `record-10` meters 8 + 9 = 17 bytes; 40 bytes hold two such records, not three.
    expect((await ok(['read', uri, '-s', '10', '-b', '40'])).stdout).toBe('record-10\nrecord-11\n');

    // A reader that goes away (`| head`) ends the command quietly (the JSON lines overflow the pipe).
    const head = await shell(
      setup.url,
      `{ $S2LITE read ${uri} -s 0 -n 2500 --format json; echo "read exit $?" >&2; } | head -n 1`,
    );
    expect(jsonLines(head.stdout)).toMatchObject([{ seq_num: 0, body: 'record-0' }]);
    expect(head.stderr).toBe('read exit 0\n');

    const outFile = path.join(tmp, 'out.txt');
    const toFile = await ok(['read', uri, '-s', '5', '-n', '3', '-o', outFile]);
    expect(toFile.stdout).toBe('');
    expect(readFileSync(outFile, 'utf8')).toBe('record-5\nrecord-6\nrecord-7\n');

    // Timestamps: --timestamp/--until select by time, --ago starts that long before now.
    const stamps = jsonLines((await ok(['read', uri, '-s', '0', '-n', '2500', '--format', 'json'])).stdout).map(
      (r) => r.timestamp as number,
    );
    const last = stamps[2499]!;
    const fromLast = (await ok(['read', uri, '--timestamp', String(last), '-n', '1'])).stdout;
    expect(fromLast).toBe(`record-${stamps.indexOf(last)}\n`);
    const untilFirst = (await ok(['read', uri, '-s', '0', '--until', String(stamps[0]! + 1), '-n', '2500'])).stdout;
    expect(untilFirst.split('\n').filter(Boolean)).toEqual(
      Array.from({ length: stamps.filter((t) => t <= stamps[0]!).length }, (_, i) => `record-${i}`),
    );
    expect((await ok(['read', uri, '--ago', '1h', '-n', '1'])).stdout).toBe('record-0\n');
  });

  it('reports reading past the tail, a missing stream and bad JSON input as one line', async () => {
    const uri = await newStream('errors');
    await ok(['append', uri], 'only\n');
    const past = await cli(setup.url, ['read', uri, '-s', '5', '-n', '1']);
    expect(past.code).toBe(1);
    expect(past.stderr).toMatch(
      /^error: nothing to read: the start position is at or beyond the tail of the stream.*\n$/,
    );

    const missing = await cli(setup.url, ['append', `s2://${basin}/does-not-exist`], 'x\n');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: stream `does-not-exist` in basin `cli-records-basin` not found.*\n$/);

    const badJson = await cli(setup.url, ['append', uri, '--format', 'json'], '{"body":"ok"}\n{oops}\n');
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/^error: line 2: not a JSON record .*\n$/);
    expect((await ok(['check-tail', uri])).stdout).toMatch(/^1\t/);
  });
});

describe('fencing and trimming', () => {
  it('fences, rejects appends with the wrong token or seq_num, and trims', async () => {
    const uri = await newStream('fenced');
    await ok(['append', uri], 'one\ntwo\n');

    const fenced = await ok(['fence', uri, 'writer-1']);
    expect(fenced.stderr).toMatch(/\[FENCED\] 2 \/\/ tail: 3 /);

    const wrongToken = await cli(setup.url, ['append', uri, '-f', 'writer-0'], 'x\n');
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toBe(`error: fencing token mismatch: the stream's current fencing token is "writer-1"\n`);

    const wrongSeq = await cli(setup.url, ['append', uri, '-f', 'writer-1', '-m', '7'], 'x\n');
    expect(wrongSeq.code).toBe(1);
    expect(wrongSeq.stderr).toBe(`error: sequence number mismatch: the stream's next sequence number is 3\n`);

    expect((await ok(['append', uri, '-f', 'writer-1', '-m', '3'], 'three\nfour\n')).stderr).toMatch(
      /\[APPENDED\] 3\.\.5 /,
    );

    // The fence is a command record: text output names it on stderr, json shows its header.
    const text = await ok(['read', uri, '-s', '0', '-n', '5']);
    expect(text.stdout).toBe('one\ntwo\nthree\nfour\n');
    expect(text.stderr).toContain('fence at seq_num 2: fencing token "writer-1"');
    const json = jsonLines((await ok(['read', uri, '-s', '2', '-n', '1', '--format', 'json'])).stdout);
    expect(json[0]).toMatchObject({ seq_num: 2, headers: [['', 'fence']], body: 'writer-1' });

    const wrongFence = await cli(setup.url, ['fence', uri, 'writer-2', '-f', 'nope']);
    expect(wrongFence.code).toBe(1);
    expect(wrongFence.stderr).toMatch(/^error: fencing token mismatch/);
    await ok(['fence', uri, 'writer-2', '-f', 'writer-1', '-m', '5']);

    const trimmed = await ok(['trim', uri, '3', '-f', 'writer-2']);
    expect(trimmed.stderr).toMatch(/\[TRIMMED\] 6 \/\/ tail: 7 /);
    const trimJson = jsonLines((await ok(['read', uri, '-s', '6', '-n', '1', '--format', 'json-base64'])).stdout);
    expect(trimJson[0]).toMatchObject({ seq_num: 6, headers: [['', Buffer.from('trim').toString('base64')]] });
    expect(Buffer.from(trimJson[0]!.body as string, 'base64').readBigUInt64BE(0)).toBe(3n);
  });
});

describe('tail and following reads', () => {
  it('prints the last records, and nothing for an empty stream', async () => {
    const uri = await newStream('tail');
    expect(await ok(['tail', uri])).toMatchObject({ stdout: '' });
    await ok(['append', uri], Array.from({ length: 15 }, (_, i) => `line-${i}`).join('\n'));
    expect((await ok(['tail', uri])).stdout).toBe(Array.from({ length: 10 }, (_, i) => `line-${i + 5}\n`).join(''));
    expect((await ok(['tail', uri, '-n', '2', '--format', 'json'])).stdout).toMatch(
      /^\{"seq_num":13,.*"body":"line-13"\}\n\{"seq_num":14,.*"body":"line-14"\}\n$/,
    );
  });

  it('`tail -f` sees a record appended afterwards', async () => {
    const uri = await newStream('tail-follow');
    await ok(['append', uri], 'before-1\nbefore-2\n');
    const follower = spawnCli(setup.url, ['tail', uri, '-n', '1', '-f']);
    const output = watchOutput(follower);
    try {
      await output.waitFor((out) => out.includes('before-2\n'));
      await ok(['append', uri], 'after\n');
      const seen = await output.waitFor((out) => out.includes('after\n'));
      expect(seen).toBe('before-2\nafter\n');
    } finally {
      // Ctrl-C ends a following read cleanly.
      expect(await stopChild(follower, 'SIGINT')).toBe(0);
    }
  });

  it('`read` without a limit follows the tail until interrupted', async () => {
    const uri = await newStream('read-follow');
    const follower = spawnCli(setup.url, ['read', uri, '-s', '0', '--format', 'json']);
    const output = watchOutput(follower);
    try {
      // Nothing to print yet; the first append proves the session is following.
      await ok(['append', uri], 'first\n');
      await output.waitFor((out) => out.includes('"body":"first"'));
      await ok(['append', uri], 'second\nthird\n');
      const seen = await output.waitFor((out) => out.includes('"body":"third"'));
      expect(jsonLines(seen).map((r) => [r.seq_num, r.body])).toEqual([
        [0, 'first'],
        [1, 'second'],
        [2, 'third'],
      ]);
    } finally {
      expect(await stopChild(follower, 'SIGINT')).toBe(0);
    }
  });
});

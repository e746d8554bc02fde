/**
 * `s2-lite verify` as a user runs it (a real process): `collect` against a server writes a history
 * file that checks linearizable, and `check` answers with the documented exit codes: 0 with a
 * one-line summary, 1 with a report for a non-linearizable or malformed history, 3 when its step
 * budget runs out.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/support.js';
import { startServer, type TestServer } from '../support/server.js';
import { HistoryBuilder, streamHashOf } from './builder.js';
import { generateHistory } from './generate.js';

let server: TestServer;
const dir = mkdtempSync(path.join(os.tmpdir(), 's2-verify-cli-'));

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const target = path.join(dir, name);
  writeFileSync(target, text);
  return target;
}

describe('s2-lite verify', () => {
  it('collect writes a history that checks linearizable', async () => {
    const output = path.join(dir, 'collected.jsonl');
    const args = ['verify', 'collect', 's2://verify-cli-01/history', '--create', '-n', '4', '--operations', '120'];
    const result = await cli(server.baseUrl, [...args, '--seed', '3', '-o', output, '--check']);
    expect(result.stderr).toMatch(/collected \d+ operations/);
    expect(result.stdout).toMatch(/^linearizable: \d+ operations from 4 clients/);
    expect(result.code).toBe(0);
    const lines = readFileSync(output, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(240);
    expect(JSON.parse(lines[0]!)).toHaveProperty('event.Start');
  }, 120_000);

  it('check: 0 when linearizable, 1 with a report when not, 1 for a malformed file, 3 out of steps', async () => {
    const good = new HistoryBuilder();
    good.ok(good.append(1, ['a']), 1);
    good.readOk(good.read(2), 1, streamHashOf('a'));
    const ok = await cli(server.baseUrl, ['verify', 'check', file('good.jsonl', good.text())]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^linearizable: 2 operations/);
    expect(ok.stdout.trim().split('\n')).toHaveLength(1);

    const stale = new HistoryBuilder();
    stale.ok(stale.append(1, ['a']), 1);
    stale.readOk(stale.read(2), 0, 0n);
    const bad = await cli(server.baseUrl, ['verify', 'check', file('stale.jsonl', stale.text())]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^not linearizable at line 4/);
    expect(bad.stdout).toContain('it saw tail 0, the state has tail 1');

    const malformed = await cli(server.baseUrl, ['verify', 'check', file('bad.jsonl', '{"event":{"Start":"Nope"}}\n')]);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/^error: line 1: /);

    const big = file('big.jsonl', generateHistory({ seed: 5, operations: 500, clients: 8 }));
    const undecided = await cli(server.baseUrl, ['verify', 'check', big, '--max-steps', '10']);
    expect(undecided.code).toBe(3);
    expect(undecided.stdout).toMatch(/^undecided after 10 search steps/);
  }, 120_000);
});

/**
 * vitest globalSetup: makes an S3 endpoint available to the tests that need one.
 * 1. S2_TEST_S3_ENDPOINT set -> use it as is.
 * 2. Something on http://127.0.0.1:7480 answers ListBuckets with TESTAK/TESTSK -> reuse it (e.g. the
 *    radosgw a developer left running with `scripts/s3-test-server.sh start`).
 * 3. Otherwise start a throwaway radosgw with scripts/s3-test-server.sh (installing it first if missing
 *    and we are root) and stop it in teardown.
 * If none works, tests that need S3 fail with the reason (S2_TEST_S3_UNAVAILABLE) while the rest of the
 * suite still runs. S2_TEST_S3=off skips steps 2-3.
 * The endpoint reaches test workers through process.env, which forked workers inherit.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { testS3Client, UNAVAILABLE_ENV } from './s3-env.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/s3-test-server.sh', import.meta.url));
const DEFAULT_ENDPOINT = 'http://127.0.0.1:7480';
const PORT = '7480';

export default async function setup(): Promise<(() => Promise<void>) | void> {
  // The SDK warns once per process that releases after early 2027 need Node 22; the version is pinned.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (process.env.S2_TEST_S3_ENDPOINT) return;
  if (process.env.S2_TEST_S3 === 'off') {
    process.env[UNAVAILABLE_ENV] = 'S3 tests disabled by S2_TEST_S3=off';
    return;
  }
  const probe = await probeS3(DEFAULT_ENDPOINT);
  if (probe === 'ok') {
    process.env.S2_TEST_S3_ENDPOINT = DEFAULT_ENDPOINT;
    return;
  }
  if (probe !== 'nothing') {
    process.env[UNAVAILABLE_ENV] =
      `something answers on ${DEFAULT_ENDPOINT} but not as the test S3 server (${probe}); ` +
      'stop it or point S2_TEST_S3_ENDPOINT (and S2_TEST_S3_ACCESS_KEY_ID/SECRET_ACCESS_KEY) at a usable server';
    return;
  }
  try {
    await ensureInstalled();
  } catch (error) {
    process.env[UNAVAILABLE_ENV] = (error as Error).message;
    return;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 's2-rgw-test-'));
  try {
    await run('bash', [SCRIPT, 'start', dir, PORT], { timeout: 180_000 });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const output = (error as { stderr?: string }).stderr ?? '';
    process.env[UNAVAILABLE_ENV] = `could not start radosgw with ${SCRIPT}: ${(error as Error).message}\n${output}`;
    return;
  }
  process.env.S2_TEST_S3_ENDPOINT = DEFAULT_ENDPOINT;
  return async () => {
    // Only the server this setup started, by the pidfiles in its own directory.
    await run('bash', [SCRIPT, 'stop', dir], { timeout: 60_000 });
    await rm(dir, { recursive: true, force: true });
  };
}

async function probeS3(endpoint: string): Promise<'ok' | 'nothing' | string> {
  const client = testS3Client({ endpoint, accessKeyId: 'TESTAK', secretAccessKey: 'TESTSK', region: 'us-east-1' }, 1);
  try {
    await client.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(5_000) });
    return 'ok';
  } catch (error) {
    const e = error as { code?: string; name?: string; message?: string };
    if (e.code === 'ECONNREFUSED') return 'nothing';
    return `${e.name}: ${e.message}`;
  } finally {
    client.destroy();
  }
}

async function ensureInstalled(): Promise<void> {
  if (await onPath('radosgw')) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'radosgw is not installed and installing needs root: run `sudo bash scripts/s3-test-server.sh install` ' +
        '(apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd curl), ' +
        'or set S2_TEST_S3_ENDPOINT to an S3 server that supports If-None-Match',
    );
  }
  await run('bash', [SCRIPT, 'install'], { timeout: 600_000 });
}

async function onPath(binary: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${binary}`]);
    return true;
  } catch {
    return false;
  }
}

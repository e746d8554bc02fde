/**
 * The S3 endpoint for our S3 mode: a radosgw already answering on 127.0.0.1:7480 (left alone at
 * the end), or one started by scripts/s3-test-server.sh (stopped by that script, by pidfile).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { request } from '../lib/http.js';
import { repoRoot, type S3Settings } from './server.js';

const PORT = 7480;
const script = path.join(repoRoot, 'scripts/s3-test-server.sh');

async function answers(): Promise<boolean> {
  const res = await request(undefined, PORT, 'GET', '/', undefined, {}, 2000).catch(() => undefined);
  return res?.status === 200;
}

function run(args: string[], timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(script, args, { timeout: timeoutMs, cwd: repoRoot }, (err, stdout, stderr) =>
      resolve({ ok: !err, output: `${stdout}${stderr}`.trim().split('\n').slice(-3).join(' | ') }),
    );
  });
}

export interface S3Endpoint {
  settings: S3Settings;
  /** Whether this run started the radosgw (and will stop it) or reused one already answering. */
  startedHere: boolean;
  stop(): Promise<void>;
}

/** Resolves to an endpoint with a fresh bucket, or rejects with the reason S3 mode cannot run. */
export async function s3Endpoint(dir: string, bucket: string): Promise<S3Endpoint> {
  let started = false;
  if (!(await answers())) {
    if (!existsSync(script))
      throw new Error('no S3 endpoint on 127.0.0.1:7480 and scripts/s3-test-server.sh is not on this branch');
    const r = await run(['start', dir, String(PORT)], 180_000);
    if (!r.ok || !(await answers())) throw new Error(`scripts/s3-test-server.sh start failed: ${r.output}`);
    started = true;
  }
  const settings: S3Settings = {
    endpoint: `http://127.0.0.1:${PORT}`,
    bucket,
    accessKeyId: 'TESTAK',
    secretAccessKey: 'TESTSK',
    region: 'us-east-1',
  };
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: true,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return {
    settings,
    startedHere: started,
    async stop() {
      if (started) await run(['stop', dir], 60_000);
    },
  };
}

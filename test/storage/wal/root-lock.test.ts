/**
 * The root lock with real processes: a live holder makes every other attempt fail with one line
 * naming the root and the holder's pid; a holder killed with SIGKILL, or a lock naming a pid now
 * used by another process (different start time), is taken over without manual cleanup; of
 * several processes taking over one stale lock at once exactly one wins; release lets the next
 * server in.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RootLock, RootLockedError } from '../../../src/storage/wal/index.js';
import { removeTempDirs, tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const childScript = path.join(here, 'lock-child.ts');
const children: ChildProcessByStdio<Writable, Readable, null>[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await removeTempDirs();
});

interface Attempt {
  child: ChildProcessByStdio<Writable, Readable, null>;
  outcome: Promise<{ kind: 'locked' | 'refused'; pid: number; message: string }>;
  exited: Promise<void>;
}

function attempt(root: string): Attempt {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, root], {
    cwd: path.join(here, '..', '..', '..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const outcome = new Promise<{ kind: 'locked' | 'refused'; pid: number; message: string }>((resolve, reject) => {
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      const [kind, pid, ...rest] = text.slice(0, newline).split(' ');
      resolve({ kind: kind as 'locked' | 'refused', pid: Number(pid), message: rest.join(' ') });
    });
    child.once('exit', (code) => reject(new Error(`lock child exited (code ${code}) before answering`)));
  });
  return { child, outcome, exited };
}

async function kill9(a: Attempt): Promise<void> {
  a.child.kill('SIGKILL');
  await a.exited;
}

describe('root lock', () => {
  it('refuses a second server while the first lives, and takes over after kill -9', async () => {
    const root = await tempDir('s2-lock-');
    const holder = attempt(root);
    const held = await holder.outcome;
    expect(held).toMatchObject({ kind: 'locked', pid: holder.child.pid });

    const error = await RootLock.acquire(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RootLockedError);
    const locked = error as RootLockedError;
    expect(locked.ownerPid).toBe(holder.child.pid);
    expect(locked.message).toContain(`root ${root} is in use by another s2-lite server (pid ${holder.child.pid}`);
    expect(locked.message).not.toContain('\n');
    const second = attempt(root);
    expect(await second.outcome).toMatchObject({ kind: 'refused', pid: holder.child.pid });
    second.child.stdin.end();

    await kill9(holder);
    const lock = await RootLock.acquire(root);
    const files = await readdir(path.join(root, 'lock'));
    expect(files).toEqual([path.basename(lock.file)]); // the stale generation was removed
    expect(await readFile(lock.file, 'utf8')).toContain(`pid=${process.pid}`);
    await expect(RootLock.acquire(root)).rejects.toThrow(/in use by this process/);
    await lock.release();
  }, 120_000);

  it('lets the next server in after a release', async () => {
    const root = await tempDir('s2-lock-');
    const first = attempt(root);
    expect((await first.outcome).kind).toBe('locked');
    first.child.stdin.end(); // releases and exits
    await first.exited;
    expect(await readFile(path.join(root, 'lock', '00000000000000000001'), 'utf8')).toContain('released=true');
    const lock = await RootLock.acquire(root);
    expect(path.basename(lock.file)).toBe('00000000000000000002');
    await lock.release();
  }, 120_000);

  it('takes over a lock whose pid now belongs to another process', async () => {
    const root = await tempDir('s2-lock-');
    const bystander = attempt(await tempDir('s2-lock-other-')); // any live process we own
    const { pid } = await bystander.outcome;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    await mkdir(path.join(root, 'lock'));
    const lockText = (startTicks: number) =>
      `s2-lite root lock v1\npid=${pid}\nstart=${startTicks}\nboot=${boot}\nhost=h\nacquired=x\nreleased=false\n`;
    // Same pid, same start time: alive.
    await writeFile(path.join(root, 'lock', '00000000000000000004'), lockText(start));
    await expect(RootLock.acquire(root)).rejects.toBeInstanceOf(RootLockedError);
    // Same pid, another start time: the pid was reused, the owner is gone.
    await writeFile(path.join(root, 'lock', '00000000000000000004'), lockText(start - 1));
    const lock = await RootLock.acquire(root);
    expect(path.basename(lock.file)).toBe('00000000000000000005');
    await lock.release();
    await kill9(bystander);
  }, 120_000);

  it('lets exactly one of several servers take over a stale lock at once', async () => {
    const root = await tempDir('s2-lock-');
    const dead = attempt(root);
    expect((await dead.outcome).kind).toBe('locked');
    await kill9(dead);
    const racers = Array.from({ length: 4 }, () => attempt(root));
    const outcomes = await Promise.all(racers.map((r) => r.outcome));
    const winners = outcomes.filter((o) => o.kind === 'locked');
    expect(winners.length).toBe(1);
    for (const loser of outcomes.filter((o) => o.kind === 'refused')) expect(loser.pid).toBe(winners[0].pid);
    for (const racer of racers) racer.child.stdin.end();
    await Promise.all(racers.map((r) => r.exited));

    // The same race with no process start-up to spread it out: every attempt sees the same stale
    // generation and tries to create the next one at once.
    const stale = attempt(root);
    expect((await stale.outcome).kind).toBe('locked');
    await kill9(stale);
    const settled = await Promise.allSettled(Array.from({ length: 8 }, () => RootLock.acquire(root)));
    const won = settled.filter((s) => s.status === 'fulfilled');
    expect(won.length).toBe(1);
    for (const lost of settled.filter((s) => s.status === 'rejected')) {
      expect((lost as PromiseRejectedResult).reason).toBeInstanceOf(RootLockedError);
    }
    await (won[0] as PromiseFulfilledResult<RootLock>).value.release();
  }, 120_000);

  it('refuses a file in the lock directory that is not a lock', async () => {
    const root = await tempDir('s2-lock-');
    await mkdir(path.join(root, 'lock'));
    await writeFile(path.join(root, 'lock', '00000000000000000001'), 'hello\n');
    await expect(RootLock.acquire(root)).rejects.toThrow(/is not an s2-lite lock/);
  });
});

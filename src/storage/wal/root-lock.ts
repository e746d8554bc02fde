/**
 * Exactly one server writes a root: the root lock (PostgreSQL's `postmaster.pid` approach, made
 * race-free).
 *
 * The lock is the file with the highest generation in `<root>/lock/` (`<generation 20d>`), a few
 * text lines naming its owner: pid, the process's start time (field 22 of `/proc/<pid>/stat`, in
 * clock ticks since boot) and the boot id. Taking the lock:
 *
 * 1. List `lock/`; read the highest generation `g` (none: `g` = 0).
 * 2. If its owner is alive (same boot, the pid exists, is not a zombie and started at the recorded
 *    time), refuse: `RootLockedError`, one line naming the root and the owner's pid. A dead owner
 *    (`kill -9`, a reboot) or a pid now used by another process (different start time) is stale.
 * 3. Create generation `g + 1` with link(2) from a fully written temp file: it fails with EEXIST if
 *    anyone else created it, so of several servers taking over the same stale lock exactly one
 *    wins; the others start over and find the winner alive.
 * 4. List again: if a higher generation exists, we raced with an older view of the directory and
 *    lost; remove ours and start over. Otherwise delete the lower generations: the lock is ours.
 *
 * Generations only grow (the highest file is never deleted, release marks it released), so
 * `g + 1` can be created only once: a server acting on a stale listing cannot take a lock that
 * someone took meanwhile. Release rewrites our file as released.
 *
 * Limits: liveness is judged through /proc and kill(2), so the lock protects against servers on
 * the same host and pid namespace. Two hosts sharing the root over a network filesystem, or two
 * containers with separate pid namespaces, see each other's locks as stale; the manifest's writer
 * epoch remains the second line of defence (docs/formats.md, "Recovery and fencing").
 */
import { readFileSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { RootLockedError } from './errors.js';
import { errnoOf, tempPrefix } from './files.js';

const header = 's2-lite root lock v1';
const generationName = /^\d{20}$/;
const attemptsMax = 20;

export interface LockOwner {
  pid: number;
  /** Start time of the process in clock ticks since boot ('' where /proc is unavailable). */
  start: string;
  boot: string;
  host: string;
  acquiredAt: string;
  released: boolean;
}

export class RootLock {
  private released = false;

  private constructor(
    readonly root: string,
    readonly file: string,
    private readonly owner: LockOwner,
  ) {}

  /** Takes the lock on `root` or throws `RootLockedError` if a live server holds it. */
  static async acquire(root: string, now: () => Date = () => new Date()): Promise<RootLock> {
    const dir = path.join(root, 'lock');
    await mkdir(dir, { recursive: true });
    const self = ownIdentity();
    for (let attempt = 0; attempt < attemptsMax; attempt++) {
      const top = await highestGeneration(dir);
      if (top > 0) {
        const topFile = path.join(dir, generationFile(top));
        const owner = await readOwner(topFile);
        if (owner === 'gone') continue; // replaced meanwhile: look again
        if (owner === 'foreign') {
          // Written by link(2) from a complete file, so never torn: this is someone else's file.
          throw new RootLockedError(
            root,
            0,
            `lock file ${topFile} is not an s2-lite lock; remove it if no server uses root ${root}`,
          );
        }
        if (!owner.released) refuseIfAlive(root, owner, self);
      }
      const mine: LockOwner = { ...self, acquiredAt: now().toISOString(), released: false };
      const file = path.join(dir, generationFile(top + 1));
      if (!(await createExclusive(dir, file, mine))) continue;
      if ((await highestGeneration(dir)) > top + 1) {
        await unlink(file).catch(() => undefined);
        continue;
      }
      await removeBelow(dir, top + 1);
      return new RootLock(root, file, mine);
    }
    throw new RootLockedError(root, 0, `cannot lock root ${root}: other servers keep taking its lock`);
  }

  /** Marks the lock released (idempotent). A later server takes the next generation. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const temp = path.join(path.dirname(this.file), uniqueTempName());
    await writeFile(temp, render({ ...this.owner, released: true }));
    await rename(temp, this.file);
  }
}

let tempSeq = 0;

/** Unique per attempt, also between attempts in one process (they must not unlink each other's). */
function uniqueTempName(): string {
  return `${tempPrefix}${process.pid}.${tempSeq++}`;
}

function generationFile(generation: number): string {
  return String(generation).padStart(20, '0');
}

async function highestGeneration(dir: string): Promise<number> {
  let top = 0;
  for (const name of await readdir(dir)) if (generationName.test(name)) top = Math.max(top, Number(name));
  return top;
}

/** Links a fully written temp file to `file`; false if `file` exists already. */
async function createExclusive(dir: string, file: string, owner: LockOwner): Promise<boolean> {
  const temp = path.join(dir, uniqueTempName());
  await writeFile(temp, render(owner), { flag: 'w' });
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    // EEXIST: someone else created it. ENOENT: a winner cleaned up our temp file; start over.
    if (errnoOf(error) === 'EEXIST' || errnoOf(error) === 'ENOENT') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** Deletes the lower generations and temp files (left by attempts killed halfway, or still racing). */
async function removeBelow(dir: string, generation: number): Promise<void> {
  for (const name of await readdir(dir)) {
    const stale = (generationName.test(name) && Number(name) < generation) || name.startsWith(tempPrefix);
    if (stale) await unlink(path.join(dir, name)).catch(() => undefined);
  }
}

function render(owner: LockOwner): string {
  return [
    header,
    `pid=${owner.pid}`,
    `start=${owner.start}`,
    `boot=${owner.boot}`,
    `host=${owner.host}`,
    `acquired=${owner.acquiredAt}`,
    `released=${owner.released}`,
    '',
  ].join('\n');
}

/** The owner recorded in `file`; 'gone' if the file no longer exists, 'foreign' if it is not a lock. */
async function readOwner(file: string): Promise<LockOwner | 'gone' | 'foreign'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return 'gone';
    throw error;
  }
  const lines = text.split('\n');
  const fields = new Map(
    lines.slice(1).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const pid = Number(fields.get('pid'));
  if (lines[0] !== header || !Number.isSafeInteger(pid) || pid <= 0) return 'foreign';
  return {
    pid,
    start: fields.get('start') ?? '',
    boot: fields.get('boot') ?? '',
    host: fields.get('host') ?? '',
    acquiredAt: fields.get('acquired') ?? '',
    released: fields.get('released') === 'true',
  };
}

function refuseIfAlive(root: string, owner: LockOwner, self: Omit<LockOwner, 'acquiredAt' | 'released'>): void {
  const state = ownerState(owner, self);
  if (state === 'dead') return;
  const who =
    state === 'self'
      ? 'this process'
      : `another s2-lite server (pid ${owner.pid} on ${owner.host || 'this host'}, since ${owner.acquiredAt})`;
  throw new RootLockedError(root, owner.pid, `root ${root} is in use by ${who}; stop it first`);
}

function ownerState(owner: LockOwner, self: Omit<LockOwner, 'acquiredAt' | 'released'>): 'alive' | 'dead' | 'self' {
  if (owner.boot !== '' && self.boot !== '' && owner.boot !== self.boot) return 'dead'; // rebooted since
  if (owner.pid === self.pid) return owner.start === self.start ? 'self' : 'dead';
  const stat = processStat(owner.pid);
  if (stat === 'unknown') return pidExists(owner.pid) ? 'alive' : 'dead';
  if (stat === null || stat.state === 'Z' || stat.state === 'X') return 'dead';
  return owner.start === '' || stat.start === owner.start ? 'alive' : 'dead';
}

/** State letter and start time (field 22) of a process; null if none; 'unknown' without /proc. */
function processStat(pid: number): { state: string; start: string } | null | 'unknown' {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ESRCH') return pidExists(pid) ? 'unknown' : null;
    return 'unknown';
  }
  // The command name (field 2) is in parentheses and may contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], start: fields[19] };
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === 'EPERM';
  }
}

function ownIdentity(): Omit<LockOwner, 'acquiredAt' | 'released'> {
  const stat = processStat(process.pid);
  let boot = '';
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // not Linux: liveness is judged by pid alone
  }
  return { pid: process.pid, start: stat && stat !== 'unknown' ? stat.start : '', boot, host: hostname() };
}

/**
 * Process hygiene for servers the benchmark starts: free ports on 127.0.0.1, waiting for a listener,
 * and stopping strictly by the PID we spawned (never by name), escalating to SIGKILL after a grace.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import net from 'node:net';
import type { Endpoint, LoopSource, ServerHandle } from './types.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Last lines of stderr+stdout, for "not available" reasons. */
  tail(): string;
  exited: Promise<number | null>;
  /** SIGTERM, wait up to graceMs, then SIGKILL; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  kill9(): Promise<void>;
}

/** Spawns a server process, logging its output to `logFile`, and keeps a short tail for errors. */
export function spawnLogged(cmd: string, args: string[], logFile: string, opts: SpawnOptions = {}): Spawned {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (child.pid === undefined) throw new Error(`could not spawn ${cmd}`);
  const log = createWriteStream(logFile, { flags: 'a' });
  let tail = '';
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString()).slice(-2000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))),
  );
  exited.then(() => log.end());
  let gone = false;
  void exited.then(() => (gone = true));
  const pid = child.pid;
  const waitGone = async (ms: number) => {
    await Promise.race([exited, sleep(ms)]);
    return gone;
  };
  return {
    child,
    pid,
    tail: () => tail,
    exited,
    async stop(graceMs = 10_000) {
      if (gone) return;
      process.kill(pid, 'SIGTERM');
      if (await waitGone(graceMs)) return;
      process.kill(pid, 'SIGKILL');
      await exited;
    },
    async kill9() {
      if (gone) return;
      process.kill(pid, 'SIGKILL');
      await exited;
    },
  };
}

/**
 * Starts a server with `launch` (spawn it and wait until it listens) and returns its handle: stop by
 * PID, and crash-and-restart that SIGKILLs it and launches it again on the same port and data.
 */
export async function startRestartable(
  launch: () => Promise<Spawned>,
  endpoint: Endpoint,
  dataDir: string | undefined,
  loop?: LoopSource,
): Promise<ServerHandle> {
  let proc = await launch();
  return {
    get pid() {
      return proc.pid;
    },
    endpoint,
    dataDir,
    loop,
    stop: () => proc.stop(),
    async crashAndRestart() {
      await proc.kill9();
      proc = await launch();
    },
  };
}

/** Spawns `cmd` with its output in `logFile` and waits until it listens on `port`. */
export async function spawnListening(
  cmd: string,
  args: string[],
  logFile: string,
  port: number,
  opts: SpawnOptions = {},
): Promise<Spawned> {
  const p = spawnLogged(cmd, args, logFile, opts);
  await waitListening(p, port);
  return p;
}

/** Waits until something accepts TCP connections on the port, or the process exits, or time runs out. */
export async function waitListening(p: Spawned, port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void p.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`exited before listening: ${p.tail().trim().split('\n').slice(-5).join(' | ')}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(
    `not listening on ${port} after ${timeoutMs} ms: ${p.tail().trim().split('\n').slice(-5).join(' | ')}`,
  );
}

export function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

export function load1(): number {
  return Number.parseFloat(loadavg());
}

/** Resident set size of a process in KiB (from /proc), or NaN if it cannot be read. */
export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** User+system CPU seconds consumed so far by a process (from /proc/PID/stat). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state is index 0, utime is 11, stime is 12 (man 5 proc, minus 3).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

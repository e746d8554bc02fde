/**
 * Root-lock test child: `node --import tsx test/storage/wal/lock-child.ts <root>`. Tries once to
 * take the lock on `root`, prints `locked <pid>` or `refused <owner pid> <message>`, then stays
 * alive holding it until stdin closes (or a signal kills it), and releases it on the way out.
 */
import { RootLock, RootLockedError } from '../../../src/storage/wal/index.js';

const root = process.argv[2];
try {
  const lock = await RootLock.acquire(root);
  process.stdout.write(`locked ${process.pid}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void lock.release().then(() => process.exit(0)));
} catch (error) {
  if (!(error instanceof RootLockedError)) throw error;
  process.stdout.write(`refused ${error.ownerPid} ${error.message}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

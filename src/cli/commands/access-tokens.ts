/**
 * Access-token commands with the official `s2` CLI's names and flags: issue-access-token,
 * list-access-tokens, revoke-access-token (docs/cli.md, docs/security.md). Resource sets are
 * written as the official CLI reads them: `=name` matches that name exactly (`=` alone matches
 * nothing), anything else is a prefix (empty: everything).
 */
import type { Command } from 'commander';
import type { AccessTokenInfo } from '@s2-dev/streamstore';
import { operations, type Operation } from '../../domain/access-tokens.js';
import { action, s2Client, UsageError } from '../client.js';
import { parseCount } from '../args.js';
import { table } from '../output.js';
import { paginate, type ListOptions } from '../paginate.js';

type ResourceSet = { exact: string } | { prefix: string };
type Permissions = { read: boolean; write: boolean };

/** `=name` is exact, anything else a prefix (the official CLI's syntax). */
export function parseResourceSet(text: string): ResourceSet {
  return text.startsWith('=') ? { exact: text.slice(1) } : { prefix: text };
}

/** `account=rw,basin=r,stream=w`: read and/or write per level (the official CLI's syntax). */
export function parseOpGroups(text: string): { account?: Permissions; basin?: Permissions; stream?: Permissions } {
  const groups: Record<string, Permissions> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const match = /^(account|basin|stream)=(r|w|rw|wr)?$/.exec(part);
    if (!match)
      throw new UsageError(`invalid --op-groups entry \`${part}\` (expected e.g. account=r,basin=rw,stream=w)`);
    if (groups[match[1]!]) throw new UsageError(`--op-groups names ${match[1]} twice`);
    const access = match[2] ?? '';
    groups[match[1]!] = { read: access.includes('r'), write: access.includes('w') };
  }
  return groups;
}

export function parseOps(text: string): Operation[] {
  const ops = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const op of ops) {
    if (!(operations as readonly string[]).includes(op)) {
      throw new UsageError(`unknown operation \`${op}\` (one of ${operations.join(', ')})`);
    }
  }
  return ops as Operation[];
}

interface IssueFlags {
  id: string;
  expiresAt?: string;
  autoPrefixStreams?: boolean;
  basins?: string;
  streams?: string;
  accessTokens?: string;
  opGroups?: string;
  ops?: string;
}

function describeSet(set: ResourceSet | null | undefined): string {
  if (!set) return '-';
  return 'exact' in set ? `=${set.exact}` : `${set.prefix}*`;
}

function describeScope(token: AccessTokenInfo): string {
  const { scope } = token;
  const groups = Object.entries(scope.opGroups ?? {})
    .filter(([, rw]) => rw && (rw.read || rw.write))
    .map(([level, rw]) => `${level}=${rw!.read ? 'r' : ''}${rw!.write ? 'w' : ''}`);
  return [
    `basins:${describeSet(scope.basins)}`,
    `streams:${describeSet(scope.streams)}${token.autoPrefixStreams ? '(auto-prefix)' : ''}`,
    `access-tokens:${describeSet(scope.accessTokens)}`,
    `op-groups:${groups.join(',') || '-'}`,
    `ops:${(scope.ops ?? []).join(',') || '-'}`,
  ].join(' ');
}

export function registerAccessTokenCommands(program: Command): void {
  program
    .command('issue-access-token')
    .description('Issue an access token; prints it (it is shown only this once).')
    .requiredOption('--id <id>', 'access token id (1-96 bytes, unique)')
    .option('--expires-at <time>', 'expiry (RFC 3339); default: that of the token issuing it')
    .option('--auto-prefix-streams', 'prefix stream names with the --streams prefix, and strip it when listing')
    .option('--basins <set>', 'basin names allowed: =name exactly, otherwise a prefix ("" = all)')
    .option('--streams <set>', 'stream names allowed: =name exactly, otherwise a prefix ("" = all)')
    .option('--access-tokens <set>', 'token ids allowed: =id exactly, otherwise a prefix ("" = all)')
    .option('--op-groups <groups>', 'operation groups, e.g. "account=r,basin=rw,stream=w"')
    .option('--ops <ops>', `operations, comma-separated (${operations.join(', ')})`)
    .addHelpText(
      'after',
      '\nExample:\n  s2-lite issue-access-token --id app-1 --basins =my-basin-01 --streams "" --op-groups stream=rw\n',
    )
    .action(
      action(async (flags: IssueFlags) => {
        const expiresAt = flags.expiresAt;
        if (expiresAt !== undefined && Number.isNaN(Date.parse(expiresAt))) {
          throw new UsageError(`invalid --expires-at \`${expiresAt}\` (expected RFC 3339, e.g. 2030-01-01T00:00:00Z)`);
        }
        const scope = {
          ...(flags.basins !== undefined && { basins: parseResourceSet(flags.basins) }),
          ...(flags.streams !== undefined && { streams: parseResourceSet(flags.streams) }),
          ...(flags.accessTokens !== undefined && { accessTokens: parseResourceSet(flags.accessTokens) }),
          ...(flags.opGroups !== undefined && { opGroups: parseOpGroups(flags.opGroups) }),
          ...(flags.ops !== undefined && { ops: parseOps(flags.ops) }),
        };
        const { accessToken } = await s2Client().accessTokens.issue({
          id: flags.id,
          scope,
          ...(flags.autoPrefixStreams && { autoPrefixStreams: true }),
          ...(expiresAt !== undefined && { expiresAt }),
        });
        process.stdout.write(`${accessToken}\n`);
      }),
    );

  program
    .command('list-access-tokens')
    .description('List access tokens: id, expiry and scope (never the tokens themselves).')
    .option('-p, --prefix <prefix>', 'only ids starting with this prefix')
    .option('-s, --start-after <id>', 'only ids after this one (for paging)')
    .option('-n, --limit <n>', 'at most this many results', (v) => parseCount(v, 1))
    .addHelpText('after', '\nExample:\n  s2-lite list-access-tokens --prefix app-\n')
    .action(
      action(async (options: ListOptions) => {
        await paginate(
          options,
          async (args) => {
            const page = await s2Client().accessTokens.list(args);
            return { items: page.accessTokens.map((token) => ({ name: token.id, token })), hasMore: page.hasMore };
          },
          (items) =>
            process.stdout.write(
              table(
                items.map(({ token }) => [
                  token.id,
                  token.expiresAt ? token.expiresAt.toISOString() : 'never',
                  describeScope(token),
                ]),
              ),
            ),
        );
      }),
    );

  program
    .command('revoke-access-token')
    .description('Revoke an access token: it is refused from now on, open sessions included.')
    .requiredOption('--id <id>', 'access token id')
    .addHelpText('after', '\nExample:\n  s2-lite revoke-access-token --id app-1\n')
    .action(
      action(async (flags: { id: string }) => {
        await s2Client().accessTokens.revoke({ id: flags.id });
        process.stdout.write(`revoked access token ${flags.id}\n`);
      }),
    );
}

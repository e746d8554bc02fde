/**
 * Proves the examples in docs/embedding.md and the README are the files test/embed/package.test.ts
 * runs: every `<!-- include: FILE -->` marker is followed by a code block equal to FILE, and every
 * file in docs/examples/ is shown in docs/embedding.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/server.js';

interface Include {
  file: string;
  block: string | undefined;
}

/** Each include marker and the fenced code block right after it (undefined if there is none). */
function includes(doc: string): Include[] {
  const text = readFileSync(path.join(repoRoot, doc), 'utf8');
  const marker = /<!-- include: (\S+) -->\n(?:```[a-z]*\n([\s\S]*?)\n```)?/g;
  return [...text.matchAll(marker)].map((m) => ({ file: m[1]!, block: m[2] }));
}

function exampleFiles(dir = 'docs/examples'): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? exampleFiles(`${dir}/${entry.name}`) : [`${dir}/${entry.name}`],
  );
}

describe.each(['docs/embedding.md', 'README.md'])('%s', (doc) => {
  it('shows each included example verbatim', () => {
    const found = includes(doc);
    expect(found.length).toBeGreaterThan(0);
    for (const { file, block } of found) {
      const content = readFileSync(path.join(repoRoot, file), 'utf8').replace(/\n$/, '');
      expect(block, `${doc}: the block after the include of ${file}`).toBe(content);
    }
  });
});

describe('docs/examples', () => {
  it('are all shown in docs/embedding.md', () => {
    const shown = new Set(includes('docs/embedding.md').map((i) => i.file));
    expect(exampleFiles().filter((file) => !shown.has(file))).toEqual([]);
  });
});

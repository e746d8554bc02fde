/**
 * The package ships dist/ (the server and the CLI) with `dependencies` only: every package that
 * code under src/ imports must be a dependency, never a devDependency (those are absent from an
 * install of the package), and every dependency must be used by src/. Scans the import
 * specifiers of every source file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/server.js';

const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Packages used only by name at runtime, not imported (a pino transport is loaded by its name). */
const usedByName: Record<string, string> = {
  'pino-pretty': "src/cli/serve.ts: pino.transport({ target: 'pino-pretty' })",
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(file) : entry.name.endsWith('.ts') ? [file] : [];
  });
}

/**
 * The package each runtime import of `source` names (static, side-effect or dynamic; type-only
 * imports are erased). Relative and node: imports are not packages. Not seen, on purpose:
 * objectstore/fs-writer.ts requires esbuild (a devDependency) only when running from the
 * TypeScript sources under tsx or vitest, never from dist/.
 */
function importedPackages(source: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\s+(?!type\b)[^'";]*?\bfrom\s*'([^']+)'/gm,
    /^\s*import\s*'([^']+)'/gm,
    /(?<!typeof\s*)\bimport\(\s*'([^']+)'\s*\)/g,
  ];
  // Comments may show imports (a doc example of `import('s2-lite')`) that the code never runs.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specifiers = patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((m) => m[1]!));
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

describe('package dependencies', () => {
  const imports = new Map<string, string[]>();
  for (const file of sourceFiles(path.join(repoRoot, 'src'))) {
    for (const name of importedPackages(readFileSync(file, 'utf8'))) {
      imports.set(name, [...(imports.get(name) ?? []), path.relative(repoRoot, file)]);
    }
  }

  it('src/ imports only dependencies', () => {
    const missing = [...imports].filter(([name]) => !(name in manifest.dependencies));
    expect(missing).toEqual([]);
  });

  it('every dependency is used by src/', () => {
    const unused = Object.keys(manifest.dependencies).filter((name) => !imports.has(name) && !(name in usedByName));
    expect(unused).toEqual([]);
  });

  it('no package is both a dependency and a devDependency', () => {
    const both = Object.keys(manifest.dependencies).filter((name) => name in manifest.devDependencies);
    expect(both).toEqual([]);
  });
});

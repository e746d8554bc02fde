#!/usr/bin/env node
// Builds the web console (src/console) into dist/console: one minified script and one stylesheet
// with content hashes in their names, index.html pointing at them, and build.json listing every
// file the server may serve (src/api/console.ts reads only what it lists). No network involved.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src/console');
const out = path.join(root, 'dist/console');

rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [path.join(source, 'main.ts'), path.join(source, 'style.css')],
  outdir: path.join(out, 'assets'),
  entryNames: '[name]-[hash]',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome111', 'firefox115', 'safari16.4'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  tsconfig: path.join(source, 'tsconfig.json'),
});

const files = [];
let script;
let style;
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  const relative = path.relative(out, path.resolve(root, file)).split(path.sep).join('/');
  files.push({ path: relative, immutable: true });
  if (relative.endsWith('.js')) script = relative;
  if (relative.endsWith('.css') && meta.entryPoint) style = relative;
}
if (!script || !style) throw new Error('console build produced no script or stylesheet');

copyFileSync(path.join(source, 'favicon.svg'), path.join(out, 'assets/favicon.svg'));
files.push({ path: 'assets/favicon.svg' });

const html = readFileSync(path.join(source, 'index.html'), 'utf8')
  .replace('%SCRIPT%', `/console/${script}`)
  .replace('%STYLE%', `/console/${style}`);
if (html.includes('%')) throw new Error('index.html has an unreplaced placeholder');
writeFileSync(path.join(out, 'index.html'), html);
files.push({ path: 'index.html' });

writeFileSync(path.join(out, 'build.json'), JSON.stringify({ files }, null, 2) + '\n');
const bytes = (name) => readFileSync(path.join(out, name)).length;
// stderr: `npm pack --json` runs this build and its stdout must stay JSON.
process.stderr.write(`console: ${script} ${bytes(script)} B, ${style} ${bytes(style)} B\n`);

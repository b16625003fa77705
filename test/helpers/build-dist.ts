// vitest globalSetup: the CLI tests spawn the compiled CLI (dist/cli/main.js, see cli.ts), so dist/ must be what
// lib/ says. Compiles lib/ (tsc as `npm run build:ts` does, without its type check: `npm run typecheck` is that) when any source is newer than its output or has none; a
// fresh checkout after `npm install` (whose `prepare` compiled it) costs nothing here.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -Infinity;
  }
}

function stale(): string | undefined {
  const lib = join(ROOT, 'lib');
  for (const src of sources(lib)) {
    const out = join(ROOT, 'dist', relative(lib, src).replace(/\.ts$/, '.js'));
    if (mtime(out) < mtime(src)) return relative(ROOT, src);
  }
  return undefined;
}

export default function setup(): void {
  const why = stale();
  if (why === undefined) return;
  process.stderr.write(`dpzo tests: compiling lib/ to dist/ (${why} is newer than its output)\n`);
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'), '--noCheck'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

// Runs a benchmark as the product ships: bundled by esbuild like dist/, then run by plain node
// (no tsx in the process, whose compiler would inflate memory and fork costs).
//   node scripts/bench.mjs bench/dispatch-overhead.ts [args...]
// BENCH_CPU_PROF=<folder> writes a CPU profile of the run there.
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** Bundled, every module would see the bundle's location: give each its own source location. */
const keepModuleLocations = {
  name: 'keep-module-locations',
  setup(build) {
    build.onLoad({ filter: /\.(ts|mjs)$/ }, (args) => {
      if (args.path.includes('node_modules')) return undefined;
      const contents = readFileSync(args.path, 'utf8')
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      return { contents, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
    });
  },
};

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/bench.mjs bench/<name>.ts [args...]');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'dispatcher-bench-'));
try {
  const outfile = join(dir, 'bench.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    plugins: [keepModuleLocations],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const result = spawnSync(process.execPath, ['--expose-gc', ...profile, outfile, ...args], { stdio: 'inherit', cwd: process.cwd() });
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

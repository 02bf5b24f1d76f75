// Runs a benchmark as the product ships: bundled by esbuild like dist/, then run by plain node
// (no tsx in the process, whose compiler would inflate memory and fork costs).
//   node scripts/bench.mjs bench/dispatch-overhead.ts [args...]
// BENCH_CPU_PROF=<folder> writes a CPU profile of the run there.
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

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
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const result = spawnSync(process.execPath, ['--expose-gc', ...profile, outfile, ...args], { stdio: 'inherit', cwd: process.cwd() });
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

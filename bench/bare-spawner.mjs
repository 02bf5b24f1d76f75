// The baseline of bench/dispatch-overhead.ts, run as a process of its own: a bare Node script that
// spawns `true` N times, C at a time, with Node's defaults, and prints how long that took (from its
// first spawn to its last exit, so Node's own start is not counted) and the CPU it and its
// children used meanwhile.
//   node bench/bare-spawner.mjs [count] [concurrency]
import { spawn } from 'node:child_process';
import { cpuSince, procCpu } from './proc-cpu.mjs';

const count = Number(process.argv[2] ?? 500);
const concurrency = Number(process.argv[3] ?? 16);
const cpu = procCpu();
const started = performance.now();
let next = 0;
const worker = async () => {
  while (next < count) {
    next++;
    await new Promise((resolve, reject) => spawn('true').on('close', resolve).on('error', reject));
  }
};
await Promise.all(Array.from({ length: concurrency }, worker));
console.log(JSON.stringify({ ms: performance.now() - started, cpu: cpuSince(cpu, procCpu()) }));

// CPU time of a process from /proc/<pid>/stat (Linux): its own (user + system) and that of its
// children it has waited for, in ms. Shared by bench/dispatch-overhead.ts and bench/bare-spawner.mjs.
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** @returns {{ self: number, children: number }} */
export function procCpu(pid = 'self') {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the command name (which may hold spaces): state is field 3; utime 14, stime 15, cutime 16, cstime 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const at = (field) => Number(fields[field - 3]) * TICK_MS;
  return { self: at(14) + at(15), children: at(16) + at(17) };
}

export const cpuSince = (start, end) => ({ self: end.self - start.self, children: end.children - start.children });

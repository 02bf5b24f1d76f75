import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import type { Config } from '../../config/types.ts';
import { formatByteSize } from '../../util/byte-size.ts';

/** What the host has to spare now. */
export interface HostLoad {
  /** Bytes (/proc/meminfo MemAvailable); undefined where there is no /proc. */
  memAvailable?: number;
  /** The 1-minute load average. */
  load1: number;
  cpus: number;
}

export type HostLoadReader = () => Promise<HostLoad>;

/** The real host: /proc/meminfo and os.loadavg(). */
export const readHostLoad: HostLoadReader = async () => {
  const meminfo = await readFile('/proc/meminfo', 'latin1').catch(() => '');
  const match = /^MemAvailable:\s+(\d+)\s*kB/m.exec(meminfo);
  return { memAvailable: match ? Number(match[1]) * 1024 : undefined, load1: loadavg()[0], cpus: availableParallelism() };
};

/** Why no new agent may start now (min_free_memory, max_load_per_cpu), or undefined. */
export async function hostPressure(config: Pick<Config, 'minFreeMemory' | 'maxLoadPerCpu'>, read: HostLoadReader): Promise<string | undefined> {
  if (config.minFreeMemory === undefined && config.maxLoadPerCpu === undefined) return undefined;
  const host = await read();
  if (config.minFreeMemory !== undefined && host.memAvailable !== undefined && host.memAvailable < config.minFreeMemory) {
    return `host pressure: ${formatByteSize(host.memAvailable)} of memory available, below min_free_memory (${formatByteSize(config.minFreeMemory)})`;
  }
  const perCpu = host.load1 / Math.max(1, host.cpus);
  if (config.maxLoadPerCpu !== undefined && perCpu > config.maxLoadPerCpu) {
    return `host pressure: load ${host.load1.toFixed(2)} on ${host.cpus} CPU(s) (${perCpu.toFixed(2)} per CPU), above max_load_per_cpu (${config.maxLoadPerCpu})`;
  }
  return undefined;
}

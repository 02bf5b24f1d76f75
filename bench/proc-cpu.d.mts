export interface Cpu {
  /** ms of user + system time of the process itself. */
  self: number;
  /** ms of user + system time of its children that it has waited for. */
  children: number;
}
export function procCpu(pid?: number | 'self'): Cpu;
export function cpuSince(start: Cpu, end: Cpu): Cpu;

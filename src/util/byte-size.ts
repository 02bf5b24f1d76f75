const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** Bytes from a number of bytes or a size such as "2GiB", "512MB", "1.5 GB" (the schema checked the form). */
export function parseByteSize(size: number | string): number {
  if (typeof size === 'number') return size;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(size);
  if (!match) throw new RangeError(`not a size: ${size}`);
  return Math.round(Number(match[1]) * (UNITS[(match[2] || 'b').toLowerCase()] ?? Number.NaN));
}

/** "1.9 GiB", "512 MiB", "800 KiB". */
export function formatByteSize(bytes: number): string {
  for (const [unit, factor] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= factor) return `${Math.round((bytes / factor) * 10) / 10} ${unit}`;
  }
  return `${Math.round(bytes)} B`;
}

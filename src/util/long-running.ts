import { setFlagsFromString } from 'node:v8';

/**
 * The daemons run for days: have V8 favour a small heap over peak speed. Measured on `run` over
 * 1,000 dispatches: RSS ≈ 71–82 MB instead of ≈ 97–101 MB, the live heap the same 7–8 MB.
 */
export function preferSmallHeap(): void {
  setFlagsFromString('--optimize-for-size');
}

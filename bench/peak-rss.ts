import { readFileSync } from 'node:fs';

/** This process's peak resident memory in MB: VmHWM (reset by exec; getrusage's maxrss starts a child at its parent's), else maxRSS. */
export function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

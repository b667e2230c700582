/**
 * This process's own peak RSS in MB, for benchmark children.
 *
 * Not `process.resourceUsage().maxRSS`: on Linux a child started with fork + exec (child_process
 * does that) inherits its parent's high-water mark at fork time, so a child of a parent that holds
 * PGlite and the test server reports the parent's size (measured: a 39 MB child of an 843 MB parent
 * reports maxRSS 804 MB). VmHWM in /proc/self/status belongs to the address space exec created.
 */
import { readFileSync } from 'node:fs';

export function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Math.round(Number(kb) / 1024);
  } catch {
    // not Linux: fall through
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

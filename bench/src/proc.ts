/**
 * CPU time of other processes, from Linux's /proc: what the validators under test spent, as
 * opposed to how long they took. A height's wall time includes every wait for a core or the
 * disk; its CPU does not, and it is what a change to the per-height or per-transaction work
 * changes. (It still follows the machine's speed.)
 */
import { readFileSync } from 'node:fs';

/**
 * User + system CPU in ms (every thread of the process) from one `/proc/PID/stat` line.
 * The command name (field 2) is in parentheses and may itself hold ") ", so the fields are
 * counted from the last ") ". utime and stime (fields 14 and 15) are in USER_HZ ticks, which
 * Linux fixes at 100 a second whatever the kernel's own HZ.
 */
export function statCpuMs(line: string): number {
  const at = line.lastIndexOf(') ');
  const f = at < 0 ? [] : line.slice(at + 2).split(' ');
  // f[0] is field 3 (the state).
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (f.length < 13 || !Number.isInteger(utime) || !Number.isInteger(stime) || utime < 0 || stime < 0)
    throw new Error('not a /proc/PID/stat line');
  return (utime + stime) * 10;
}

/** A process's CPU so far in ms, or null where there is no /proc (not Linux, or it is gone). */
export function processCpuMs(pid: number): number | null {
  let line: string;
  try {
    line = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return statCpuMs(line);
}

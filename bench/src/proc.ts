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

/**
 * Bytes this process has handed to write(2) and its kin (pwrite, writev) so far: `wchar` in
 * `/proc/self/io`. For a store that writes through the page cache, it is what SQLite wrote to
 * its log and, at checkpoints, to the database file: the volume each append costs, whether or
 * not the disk has seen it yet. Null where there is no /proc.
 */
export function writtenBytes(): number | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/io', 'utf8');
  } catch {
    return null;
  }
  return ioWchar(text);
}

/** The `wchar` field of a `/proc/PID/io` text. */
export function ioWchar(text: string): number {
  const m = /^wchar:\s*(\d+)$/m.exec(text);
  if (!m) throw new Error('not a /proc/PID/io text');
  return Number(m[1]);
}

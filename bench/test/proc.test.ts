/** Reading a process's CPU time from /proc, for the consensus bench's per-height CPU figures. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processCpuMs, statCpuMs } from '../src/proc.js';

test('statCpuMs: utime + stime in ms, counted from the last ") " even when the name holds one', () => {
  // Fields 3… of a real line; utime 1234 and stime 56 ticks are the 12th and 13th after ") ".
  const tail = 'S 1 2 3 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 11 0 400 1000 200';
  assert.equal(statCpuMs(`4242 (node) ${tail}`), 12_900);
  assert.equal(statCpuMs(`4242 (a) b (c) ${tail}`), 12_900);
  for (const bad of ['', '4242 (node)', `4242 node ${tail}`, '4242 (node) S 1 2 3 0 -1 x y z w v abc 56'])
    assert.throws(() => statCpuMs(bad), /not a \/proc\/PID\/stat line/);
});

test('processCpuMs follows this process: it agrees with process.cpuUsage() and grows with work', {
  skip: process.platform !== 'linux' && 'needs /proc',
}, () => {
  const own = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const a = processCpuMs(process.pid)!;
  // /proc counts in 10 ms ticks, sampled by the kernel: allow a few ticks either way.
  assert.ok(Math.abs(a - own()) < 50, `${a} ms from /proc, ${own()} ms from cpuUsage`);
  // 300 ms of CPU, however long the machine takes to give it.
  const t = own();
  while (own() - t < 300);
  const b = processCpuMs(process.pid)!;
  assert.ok(b - a >= 250 && b - a <= 400, `300 ms of CPU counted as ${b - a} ms`);
  assert.equal(processCpuMs(2 ** 31 - 1), null);
});

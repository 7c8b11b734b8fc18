/**
 * Reading CPU time and write volume from /proc: the consensus bench's CPU figures, and the
 * ledger bench's bytes written per transaction.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ioWchar, processCpuMs, statCpuMs, writtenBytes } from '../src/proc.js';

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

test('ioWchar reads the wchar line of a /proc/PID/io text, and refuses anything else', () => {
  const text = 'rchar: 9000\nwchar: 123456\nsyscr: 12\nsyscw: 34\nread_bytes: 0\nwrite_bytes: 4096\n';
  assert.equal(ioWchar(text), 123_456);
  for (const bad of ['', 'rchar: 9000\n', 'wchar: -1\n', 'wchar: 12x\n', 'write_bytes: 4096\n'])
    assert.throws(() => ioWchar(bad), /not a \/proc\/PID\/io text/);
});

test('writtenBytes counts what this process writes to a file', {
  skip: process.platform !== 'linux' && 'needs /proc',
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'qledger-proc-'));
  try {
    const fd = openSync(join(dir, 'f'), 'w');
    const a = writtenBytes()!;
    writeSync(fd, new Uint8Array(1 << 20));
    const b = writtenBytes()!;
    closeSync(fd);
    // A megabyte, plus whatever else this process wrote meanwhile (the test runner's pipe).
    assert.ok(b - a >= 1 << 20 && b - a < (1 << 20) + 65_536, `1 MiB counted as ${b - a} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

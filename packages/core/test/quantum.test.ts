import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  GATES,
  MAX_QUBITS,
  type Matrix2,
  QledgerError,
  QuantumState,
  rxMatrix,
  ryMatrix,
  rzMatrix,
  seededStream,
} from '../src/index.js';

const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol;

// ---- slow, obvious reference: the full 2^n × 2^n unitary built from Kronecker products ----
type C = [number, number];
type Mat = C[][];
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const cadd = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
const m2 = (g: Matrix2): Mat => [
  [[...g[0]], [...g[1]]],
  [[...g[2]], [...g[3]]],
];
function kron(a: Mat, b: Mat): Mat {
  const out: Mat = [];
  for (let i = 0; i < a.length * b.length; i++) {
    out.push([]);
    for (let j = 0; j < a.length * b.length; j++) {
      out[i]!.push(
        cmul(a[Math.floor(i / b.length)]![Math.floor(j / b.length)]!, b[i % b.length]![j % b.length]!),
      );
    }
  }
  return out;
}
const eye: Mat = m2(GATES.I);
/** U = I ⊗ … ⊗ g ⊗ … ⊗ I with qubit 0 the rightmost (least significant) factor. */
function fullSingle(n: number, q: number, g: Matrix2): Mat {
  let u: Mat = [[[1, 0]]];
  for (let k = n - 1; k >= 0; k--) u = kron(u, k === q ? m2(g) : eye);
  return u;
}
/** A two-qubit gate as a permutation/phase on basis states, written out per index. */
function fullTwo(n: number, f: (i: number) => [number, C]): Mat {
  const size = 2 ** n;
  const u: Mat = Array.from({ length: size }, () => Array.from({ length: size }, (): C => [0, 0]));
  for (let i = 0; i < size; i++) {
    const [j, phase] = f(i);
    u[j]![i] = phase;
  }
  return u;
}
function applyMat(u: Mat, v: C[]): C[] {
  return u.map((row) => row.reduce<C>((acc, x, j) => cadd(acc, cmul(x, v[j]!)), [0, 0]));
}
const bit = (i: number, q: number) => (i >> q) & 1;

type Op =
  | { g: 'H' | 'X' | 'Y' | 'Z' | 'S' | 'T'; q: number }
  | { g: 'RX' | 'RY' | 'RZ'; q: number; theta: number }
  | { g: 'CNOT' | 'CZ' | 'SWAP'; a: number; b: number };

function runFast(n: number, ops: Op[]): QuantumState {
  const s = new QuantumState(n);
  for (const op of ops) {
    if ('a' in op) {
      if (op.g === 'CNOT') s.cnot(op.a, op.b);
      else if (op.g === 'CZ') s.cz(op.a, op.b);
      else s.swap(op.a, op.b);
    } else if ('theta' in op) {
      if (op.g === 'RX') s.rx(op.q, op.theta);
      else if (op.g === 'RY') s.ry(op.q, op.theta);
      else s.rz(op.q, op.theta);
    } else s.apply(op.q, GATES[op.g]);
  }
  return s;
}
function runReference(n: number, ops: Op[]): C[] {
  let v: C[] = Array.from({ length: 2 ** n }, (_, i): C => [i === 0 ? 1 : 0, 0]);
  for (const op of ops) {
    let u: Mat;
    if ('a' in op) {
      if (op.g === 'CNOT') u = fullTwo(n, (i) => [bit(i, op.a) ? i ^ (1 << op.b) : i, [1, 0]]);
      else if (op.g === 'CZ') u = fullTwo(n, (i) => [i, [bit(i, op.a) & bit(i, op.b) ? -1 : 1, 0]]);
      else u = fullTwo(n, (i) => [bit(i, op.a) !== bit(i, op.b) ? i ^ (1 << op.a) ^ (1 << op.b) : i, [1, 0]]);
    } else if ('theta' in op) {
      const m = op.g === 'RX' ? rxMatrix(op.theta) : op.g === 'RY' ? ryMatrix(op.theta) : rzMatrix(op.theta);
      u = fullSingle(n, op.q, m);
    } else u = fullSingle(n, op.q, GATES[op.g]);
    v = applyMat(u, v);
  }
  return v;
}

const arbCircuit = fc.integer({ min: 2, max: 4 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    ops: fc.array(
      fc.oneof(
        fc.record({
          g: fc.constantFrom('H', 'X', 'Y', 'Z', 'S', 'T' as const),
          q: fc.integer({ min: 0, max: n - 1 }),
        }),
        fc.record({
          g: fc.constantFrom('RX', 'RY', 'RZ' as const),
          q: fc.integer({ min: 0, max: n - 1 }),
          theta: fc.double({ min: -7, max: 7, noNaN: true }),
        }),
        fc
          .record({
            g: fc.constantFrom('CNOT', 'CZ', 'SWAP' as const),
            a: fc.integer({ min: 0, max: n - 1 }),
            b: fc.integer({ min: 0, max: n - 1 }),
          })
          .filter((o) => o.a !== o.b),
      ) as fc.Arbitrary<Op>,
      { maxLength: 25 },
    ),
  }),
);

test('the state-vector simulator equals the dense-unitary reference on random circuits', () => {
  fc.assert(
    fc.property(arbCircuit, ({ n, ops }) => {
      const { re, im } = runFast(n, ops).amplitudes();
      const ref = runReference(n, ops);
      for (let i = 0; i < ref.length; i++) {
        assert.ok(close(re[i]!, ref[i]![0], 1e-10) && close(im[i]!, ref[i]![1], 1e-10), `amplitude ${i}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('probabilities sum to 1 within 1e-12 after random circuits, up to 12 qubits', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 2 ** 31 }), (n, seed) => {
      const rng = seededStream(
        new Uint8Array([seed & 255, (seed >> 8) & 255, (seed >> 16) & 255, seed >>> 24]),
      );
      const s = new QuantumState(n);
      for (let k = 0; k < 60; k++) {
        const b = rng.bytes(3);
        const q = b[0]! % n;
        const r = b[1]! % n;
        const theta = (b[2]! / 255) * 2 * Math.PI;
        [
          () => s.h(q),
          () => s.ry(q, theta),
          () => s.rx(q, theta),
          () => s.t(q),
          () => q !== r && s.cnot(q, r),
        ][k % 5]!();
      }
      const total = s.probabilities().reduce((a, x) => a + x, 0);
      assert.ok(Math.abs(total - 1) <= 1e-12, `sum ${total}`);
    }),
    { numRuns: 60 },
  );
});

test('Bell state: only |00⟩ and |11⟩, each with probability ½', () => {
  const p = new QuantumState(2).h(0).cnot(0, 1).probabilities();
  assert.deepEqual(
    [...p].map((x) => Math.round(x * 1e12) / 1e12),
    [0.5, 0, 0, 0.5],
  );
});

test('GHZ state on 5 qubits: |00000⟩ and |11111⟩ only, and measurements agree across qubits', () => {
  const ghz = () => {
    const s = new QuantumState(5).h(0);
    for (let q = 1; q < 5; q++) s.cnot(0, q);
    return s;
  };
  const p = ghz().probabilities();
  assert.ok(close(p[0]!, 0.5) && close(p[31]!, 0.5));
  assert.ok(close(p.reduce((a, x) => a + x, 0) - p[0]! - p[31]!, 0));
  const rng = seededStream(new Uint8Array([1, 2, 3]));
  const outcomes = new Set<number>();
  for (let i = 0; i < 40; i++) {
    const s = ghz();
    const first = s.measure(2, rng);
    // after measuring one qubit, every other qubit is certain and equal to it
    for (let q = 0; q < 5; q++) assert.ok(close(s.probabilityOne(q), first));
    outcomes.add(first);
  }
  assert.deepEqual([...outcomes].sort(), [0, 1]);
});

test('RY(θ)|0⟩ has P(1) = sin²(θ/2), RX likewise; RZ leaves probabilities alone', () => {
  for (let k = 0; k <= 64; k++) {
    const theta = (k / 64) * 4 * Math.PI - 2 * Math.PI;
    const want = Math.sin(theta / 2) ** 2;
    assert.ok(close(new QuantumState(1).ry(0, theta).probabilityOne(0), want), `RY ${theta}`);
    assert.ok(close(new QuantumState(1).rx(0, theta).probabilityOne(0), want), `RX ${theta}`);
    assert.ok(close(new QuantumState(1).h(0).rz(0, theta).probabilityOne(0), 0.5), `RZ ${theta}`);
    // RZ's relative phase shows through H·RZ(θ)·H: P(1) = sin²(θ/2)
    assert.ok(close(new QuantumState(1).h(0).rz(0, theta).h(0).probabilityOne(0), want), `HRZH ${theta}`);
  }
  // exact amplitudes: Y|0⟩ = i|1⟩, RZ(θ)|0⟩ = e^(−iθ/2)|0⟩, T·X|0⟩ = e^(iπ/4)|1⟩
  const y = new QuantumState(1).y(0).amplitudes();
  assert.deepEqual([y.re[0], y.im[0], y.re[1], y.im[1]], [0, 0, 0, 1]);
  const rz = new QuantumState(1).rz(0, 1).amplitudes();
  assert.ok(close(rz.re[0]!, Math.cos(0.5)) && close(rz.im[0]!, -Math.sin(0.5)));
  const t = new QuantumState(1).x(0).t(0).amplitudes();
  assert.ok(close(t.re[1]!, Math.SQRT1_2) && close(t.im[1]!, Math.SQRT1_2));
});

test('gate identities: HH = I, XX = I, CNOT² = I, SWAP² = I, S² = Z, T² = S, HZH = X', () => {
  fc.assert(
    fc.property(arbCircuit, ({ n, ops }) => {
      const base = runFast(n, ops).amplitudes();
      const same = (s: QuantumState) => {
        const { re, im } = s.amplitudes();
        for (let i = 0; i < re.length; i++)
          assert.ok(close(re[i]!, base.re[i]!, 1e-10) && close(im[i]!, base.im[i]!, 1e-10));
      };
      same(runFast(n, ops).h(0).h(0));
      same(runFast(n, ops).x(1).x(1));
      same(runFast(n, ops).cnot(0, 1).cnot(0, 1));
      same(runFast(n, ops).swap(1, 0).swap(0, 1));
      const sameAs = (a: QuantumState, b: QuantumState) => {
        const x = a.amplitudes();
        const y = b.amplitudes();
        for (let i = 0; i < x.re.length; i++)
          assert.ok(close(x.re[i]!, y.re[i]!, 1e-10) && close(x.im[i]!, y.im[i]!, 1e-10));
      };
      sameAs(runFast(n, ops).s(0).s(0), runFast(n, ops).z(0));
      sameAs(runFast(n, ops).t(1).t(1), runFast(n, ops).s(1));
      sameAs(runFast(n, ops).h(0).z(0).h(0), runFast(n, ops).x(0));
    }),
    { numRuns: 100 },
  );
});

test('sampling follows the probabilities (χ² on RY(π/3) ⊗ H, 40,000 shots)', () => {
  const s = new QuantumState(2).ry(0, Math.PI / 3).h(1);
  const p = s.probabilities();
  const shots = s.sample(40_000, seededStream(new Uint8Array([42])));
  const counts = [0, 0, 0, 0];
  for (const k of shots) counts[k]!++;
  const chi = counts.reduce((a, c, i) => a + (c - 40_000 * p[i]!) ** 2 / (40_000 * p[i]!), 0);
  assert.ok(chi < 16.27, `χ² = ${chi} (3 d.o.f., p < 0.001 beyond 16.27)`); // deterministic seed
  assert.equal(
    s.sample(100, seededStream(new Uint8Array([7]))).every((k) => p[k]! > 0),
    true,
  );
});

test('measureAll collapses to the sampled basis state', () => {
  const s = new QuantumState(3).h(0).h(1).h(2);
  const k = s.measureAll(seededStream(new Uint8Array([9])));
  const p = s.probabilities();
  assert.equal(p[k], 1);
  assert.equal(
    p.reduce((a, x) => a + x, 0),
    1,
  );
});

test('argument errors name the argument; too many qubits has its own code', () => {
  assert.throws(
    () => new QuantumState(MAX_QUBITS + 1),
    (e) => e instanceof QledgerError && e.code === 'QUANTUM_TOO_MANY_QUBITS',
  );
  assert.throws(() => new QuantumState(0), /qubits must be in \[1, 20\]/);
  assert.throws(() => new QuantumState(2).h(2), /target must be in \[0, 1\]/);
  assert.throws(() => new QuantumState(2).cnot(1, 1), /control and target must be different/);
  assert.throws(() => new QuantumState(2).ry(0, Number.NaN), /theta must be a finite number/);
  assert.throws(() => new QuantumState(2).cz(0, 5), /b must be in \[0, 1\]/);
});

test('20 qubits fit: H on every qubit gives the uniform distribution', () => {
  const s = new QuantumState(20);
  for (let q = 0; q < 20; q++) s.h(q);
  const p = s.probabilities();
  assert.equal(p.length, 2 ** 20);
  assert.ok(p.every((x) => close(x, 2 ** -20, 1e-18)));
});

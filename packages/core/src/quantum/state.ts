/**
 * A state-vector quantum circuit simulator: n ≤ 20 qubits held as 2^n complex amplitudes
 * (two Float64Arrays). Qubit q is bit q of the basis-state index (little-endian, as in Qiskit),
 * so |q1 q0⟩ = |10⟩ is index 2. Gates act in place and return `this`, so circuits chain:
 * `new QuantumState(2).h(0).cnot(0, 1)` is a Bell pair.
 *
 * Measurement randomness comes from a caller-supplied RandomStream: the simulator has none
 * of its own, so a simulated "quantum" random source is exactly as random as that stream.
 */
import { assertInt } from '../bytes.js';
import { QledgerError } from '../errors.js';
import { floatFromBytes, uniformFloat } from '../qrng/sample.js';
import type { RandomStream } from '../qrng/stream.js';

export const MAX_QUBITS = 20;

/** A 2×2 complex matrix [[a, b], [c, d]] as [re, im] pairs, row-major. */
export type Matrix2 = readonly [
  readonly [number, number],
  readonly [number, number],
  readonly [number, number],
  readonly [number, number],
];

const S2 = Math.SQRT1_2;
/** The fixed single-qubit gates, as matrices (Nielsen & Chuang §4.2). */
export const GATES = {
  I: [
    [1, 0],
    [0, 0],
    [0, 0],
    [1, 0],
  ],
  H: [
    [S2, 0],
    [S2, 0],
    [S2, 0],
    [-S2, 0],
  ],
  X: [
    [0, 0],
    [1, 0],
    [1, 0],
    [0, 0],
  ],
  Y: [
    [0, 0],
    [0, -1],
    [0, 1],
    [0, 0],
  ],
  Z: [
    [1, 0],
    [0, 0],
    [0, 0],
    [-1, 0],
  ],
  S: [
    [1, 0],
    [0, 0],
    [0, 0],
    [0, 1],
  ],
  T: [
    [1, 0],
    [0, 0],
    [0, 0],
    [S2, S2],
  ],
} as const satisfies Record<string, Matrix2>;

/** RX(θ) = exp(−iθX/2). */
export function rxMatrix(theta: number): Matrix2 {
  const c = Math.cos(theta / 2);
  const s = Math.sin(theta / 2);
  return [
    [c, 0],
    [0, -s],
    [0, -s],
    [c, 0],
  ];
}
/** RY(θ) = exp(−iθY/2); RY(θ)|0⟩ has P(1) = sin²(θ/2). */
export function ryMatrix(theta: number): Matrix2 {
  const c = Math.cos(theta / 2);
  const s = Math.sin(theta / 2);
  return [
    [c, 0],
    [-s, 0],
    [s, 0],
    [c, 0],
  ];
}
/** RZ(θ) = exp(−iθZ/2) = diag(e^(−iθ/2), e^(iθ/2)). */
export function rzMatrix(theta: number): Matrix2 {
  const c = Math.cos(theta / 2);
  const s = Math.sin(theta / 2);
  return [
    [c, -s],
    [0, 0],
    [0, 0],
    [c, s],
  ];
}

function assertAngle(theta: unknown): asserts theta is number {
  if (typeof theta !== 'number' || !Number.isFinite(theta))
    throw new TypeError(`theta must be a finite number, got ${String(theta)}`);
}

export class QuantumState {
  readonly qubits: number;
  readonly size: number;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  /** |0…0⟩ on `qubits` qubits (1 ≤ qubits ≤ MAX_QUBITS). */
  constructor(qubits: number) {
    if (typeof qubits === 'number' && Number.isInteger(qubits) && qubits > MAX_QUBITS) {
      throw new QledgerError(
        'QUANTUM_TOO_MANY_QUBITS',
        `qubits must be at most ${MAX_QUBITS} (the state vector doubles with each qubit), got ${qubits}`,
        { qubits, max: MAX_QUBITS },
      );
    }
    assertInt('qubits', qubits, 1, MAX_QUBITS);
    this.qubits = qubits;
    this.size = 2 ** qubits;
    this.re = new Float64Array(this.size);
    this.im = new Float64Array(this.size);
    this.re[0] = 1;
  }

  private q(name: string, q: unknown): number {
    assertInt(name, q, 0, this.qubits - 1);
    return q;
  }

  /** Applies a 2×2 matrix to qubit `target`. */
  apply(target: number, m: Matrix2): this {
    const bit = 1 << this.q('target', target);
    const [[ar, ai], [br, bi], [cr, ci], [dr, di]] = m;
    const re = this.re;
    const im = this.im;
    for (let base = 0; base < this.size; base += bit << 1) {
      for (let i0 = base; i0 < base + bit; i0++) {
        const i1 = i0 | bit;
        const xr = re[i0]!;
        const xi = im[i0]!;
        const yr = re[i1]!;
        const yi = im[i1]!;
        re[i0] = ar * xr - ai * xi + br * yr - bi * yi;
        im[i0] = ar * xi + ai * xr + br * yi + bi * yr;
        re[i1] = cr * xr - ci * xi + dr * yr - di * yi;
        im[i1] = cr * xi + ci * xr + dr * yi + di * yr;
      }
    }
    return this;
  }

  h(q: number): this {
    return this.apply(q, GATES.H);
  }
  x(q: number): this {
    return this.apply(q, GATES.X);
  }
  y(q: number): this {
    return this.apply(q, GATES.Y);
  }
  z(q: number): this {
    return this.apply(q, GATES.Z);
  }
  s(q: number): this {
    return this.apply(q, GATES.S);
  }
  t(q: number): this {
    return this.apply(q, GATES.T);
  }
  rx(q: number, theta: number): this {
    assertAngle(theta);
    return this.apply(q, rxMatrix(theta));
  }
  ry(q: number, theta: number): this {
    assertAngle(theta);
    return this.apply(q, ryMatrix(theta));
  }
  rz(q: number, theta: number): this {
    assertAngle(theta);
    return this.apply(q, rzMatrix(theta));
  }

  private pair(a: number, b: number, na: string, nb: string): [number, number] {
    this.q(na, a);
    this.q(nb, b);
    if (a === b) throw new RangeError(`${na} and ${nb} must be different qubits, both are ${a}`);
    return [1 << a, 1 << b];
  }

  /** CNOT: flips `target` where `control` is 1. */
  cnot(control: number, target: number): this {
    const [cb, tb] = this.pair(control, target, 'control', 'target');
    for (let i = 0; i < this.size; i++) {
      if (i & cb && !(i & tb)) this.swapAmp(i, i | tb);
    }
    return this;
  }

  /** CZ: negates amplitudes where both qubits are 1 (symmetric in its qubits). */
  cz(a: number, b: number): this {
    const [ab, bb] = this.pair(a, b, 'a', 'b');
    for (let i = 0; i < this.size; i++) {
      if (i & ab && i & bb) {
        this.re[i] = -this.re[i]!;
        this.im[i] = -this.im[i]!;
      }
    }
    return this;
  }

  /** SWAP: exchanges two qubits. */
  swap(a: number, b: number): this {
    const [ab, bb] = this.pair(a, b, 'a', 'b');
    for (let i = 0; i < this.size; i++) {
      if (i & ab && !(i & bb)) this.swapAmp(i, (i & ~ab) | bb);
    }
    return this;
  }

  private swapAmp(i: number, j: number): void {
    const r = this.re[i]!;
    const m = this.im[i]!;
    this.re[i] = this.re[j]!;
    this.im[i] = this.im[j]!;
    this.re[j] = r;
    this.im[j] = m;
  }

  /** |amplitude|² of every basis state, indexed like the state. */
  probabilities(): Float64Array {
    const p = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) p[i] = this.re[i]! ** 2 + this.im[i]! ** 2;
    return p;
  }

  /** P(qubit q reads 1). */
  probabilityOne(q: number): number {
    const bit = 1 << this.q('q', q);
    let p = 0;
    for (let i = 0; i < this.size; i++) if (i & bit) p += this.re[i]! ** 2 + this.im[i]! ** 2;
    return p;
  }

  /** A copy of the amplitudes. */
  amplitudes(): { re: Float64Array; im: Float64Array } {
    return { re: this.re.slice(), im: this.im.slice() };
  }

  /** Measures qubit q in the computational basis; the state collapses accordingly. */
  measure(q: number, stream: RandomStream): 0 | 1 {
    const p1 = this.probabilityOne(q);
    const outcome: 0 | 1 = uniformFloat(stream) < p1 ? 1 : 0;
    const bit = 1 << q;
    const norm = 1 / Math.sqrt(outcome ? p1 : 1 - p1);
    for (let i = 0; i < this.size; i++) {
      if (((i & bit) !== 0) === (outcome === 1)) {
        this.re[i] = this.re[i]! * norm;
        this.im[i] = this.im[i]! * norm;
      } else {
        this.re[i] = 0;
        this.im[i] = 0;
      }
    }
    return outcome;
  }

  /** Measures every qubit: returns the basis index, and the state collapses to it. */
  measureAll(stream: RandomStream): number {
    const [k] = this.sample(1, stream);
    this.re.fill(0);
    this.im.fill(0);
    this.re[k!] = 1;
    return k!;
  }

  /**
   * `shots` independent full measurements of copies of this state (the state itself is not
   * disturbed): basis indices drawn from probabilities() by inverse-CDF sampling.
   */
  sample(shots: number, stream: RandomStream): Uint32Array {
    assertInt('shots', shots, 0, 2 ** 28);
    const cdf = this.probabilities();
    for (let i = 1; i < cdf.length; i++) cdf[i] = cdf[i]! + cdf[i - 1]!;
    const total = cdf[cdf.length - 1]!;
    const out = new Uint32Array(shots);
    // Randomness is pulled in blocks (7 bytes = 53 bits per shot): one stream call per 4,096
    // shots rather than per shot. A stream yields the same bytes however it is sliced.
    const BLOCK = 4096;
    for (let s0 = 0; s0 < shots; s0 += BLOCK) {
      const n = Math.min(BLOCK, shots - s0);
      const r = stream.bytes(7 * n);
      for (let s = 0; s < n; s++) {
        const u = floatFromBytes(r, 7 * s) * total;
        let lo = 0;
        let hi = cdf.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cdf[mid]! > u) hi = mid;
          else lo = mid + 1;
        }
        out[s0 + s] = lo;
      }
      r.fill(0);
    }
    return out;
  }
}

/**
 * One interface for every entropy source: the OS CSPRNG, the simulated quantum source, remote
 * QRNG services and QRNG devices (the last two live in @qledger/node, which has sockets and
 * files). A source returns raw bytes; MonitoredSource health-tests them before anyone uses them.
 */
import { assertInt } from '../bytes.js';
import { randomBytes } from '../crypto/random.js';
import { QuantumState } from '../quantum/state.js';
import type { SampleBits } from './health.js';
import type { RandomStream } from './stream.js';
import { osStream } from './stream.js';

export type SourceKind = 'os' | 'simulated' | 'anu' | 'qbck' | 'device';

export interface EntropySource {
  /** Unique name from the configuration; appears in metrics, logs and errors. */
  readonly name: string;
  readonly kind: SourceKind;
  /** True for quantum sources (real or simulated), false for the OS generator. */
  readonly quantum: boolean;
  /** Bits per raw sample, for the health tests. */
  readonly sampleBits: SampleBits;
  /** Claimed min-entropy per sample (bits), from the device's documentation or assessment. */
  readonly minEntropy: number;
  /** Bytes worth fetching at once (a remote service's request size, say). */
  readonly chunkBytes: number;
  /**
   * Exactly `length` raw bytes. Throws QledgerError QRNG_SOURCE_IO (with the cause) when the
   * source cannot deliver; never returns fewer bytes or recycled ones.
   */
  read(length: number): Promise<Uint8Array>;
  /** Releases files or sockets. */
  close?(): Promise<void>;
}

/**
 * Default claimed min-entropy, as a fraction of sampleBits. Claiming less than a conditioned
 * source's true 8 bits/byte keeps false alarms of a perfect source negligible (RCT cutoff 5,
 * ≈ 2^-32 per byte at α = 2^-20) while stuck, repeating and heavily biased output still fails
 * at once. Operators of assessed hardware set the assessed value instead.
 */
export const DEFAULT_ENTROPY_FRACTION = 0.75;

/** The platform CSPRNG (Web Crypto getRandomValues). */
export class OsEntropySource implements EntropySource {
  readonly kind = 'os';
  readonly quantum = false;
  readonly sampleBits = 8;
  readonly chunkBytes = 4096;
  constructor(
    readonly name = 'os',
    readonly minEntropy = 8 * DEFAULT_ENTROPY_FRACTION,
  ) {}
  async read(length: number): Promise<Uint8Array> {
    return randomBytes(length);
  }
}

/**
 * A simulated QRNG: `qubits` qubits (1, 2, 4 or 8) prepared with H on each and measured in
 * the computational basis by the state-vector simulator, one sample of `qubits` bits per
 * shot, packed most-significant-first into bytes. It is a SIMULATION: every bit of its
 * randomness comes from the measurement stream (the OS CSPRNG by default), so it adds no
 * entropy; it exists so the whole QRNG path (health tests, mixing, metrics) runs without
 * hardware.
 */
export class SimulatedQuantumSource implements EntropySource {
  readonly kind = 'simulated';
  readonly quantum = true;
  readonly sampleBits: SampleBits;
  readonly chunkBytes = 4096;
  private readonly state: QuantumState;

  constructor(
    readonly name = 'simulated',
    qubits: SampleBits = 8,
    readonly minEntropy: number = qubits * DEFAULT_ENTROPY_FRACTION,
    private readonly stream: RandomStream = osStream,
  ) {
    if (![1, 2, 4, 8].includes(qubits)) throw new RangeError(`qubits must be 1, 2, 4 or 8, got ${qubits}`);
    this.sampleBits = qubits;
    this.state = new QuantumState(qubits);
    for (let q = 0; q < qubits; q++) this.state.h(q);
  }

  async read(length: number): Promise<Uint8Array> {
    assertInt('length', length, 0, 2 ** 28);
    const perByte = 8 / this.sampleBits;
    const shots = this.state.sample(length * perByte, this.stream);
    const out = new Uint8Array(length);
    for (let i = 0, s = 0; i < length; i++) {
      let b = 0;
      for (let j = 0; j < perByte; j++) b = (b << this.sampleBits) | shots[s++]!;
      out[i] = b;
    }
    return out;
  }
}

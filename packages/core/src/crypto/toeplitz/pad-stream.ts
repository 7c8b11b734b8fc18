/**
 * One-time-pad key stream for Wegman–Carter tags. Key material (e.g. QKD key) is appended;
 * pads are taken at strictly increasing positions and the bytes are zeroed as they are
 * consumed, so the API cannot hand out the same pad twice.
 */
import { assertBytes, assertInt } from '../../bytes.js';
import { QledgerError } from '../../errors.js';

export const PAD_ERRORS = {
  EXHAUSTED: 'MAC_PAD_EXHAUSTED',
  REUSED: 'MAC_PAD_REUSED',
} as const;

export class PadStream {
  #chunks: Uint8Array[] = [];
  #head = 0; // offset into #chunks[0]
  #position = 0; // absolute offset of the next unused byte
  #available = 0;

  /** Takes ownership of `material`: the caller must not keep using it. */
  constructor(material?: Uint8Array) {
    if (material !== undefined) this.append(material);
  }

  /** Absolute offset of the next unused pad byte (both link ends agree on it). */
  get position(): number {
    return this.#position;
  }

  /** Unused bytes. */
  get remaining(): number {
    return this.#available;
  }

  /** Adds fresh key material at the end of the stream (takes ownership). */
  append(material: Uint8Array): void {
    assertBytes('material', material);
    if (material.length === 0) return;
    this.#chunks.push(material);
    this.#available += material.length;
  }

  /** Sender side: the next `length` bytes and the position they were taken from. */
  next(length: number): { position: number; pad: Uint8Array } {
    const position = this.#position;
    return { position, pad: this.#take(length) };
  }

  /**
   * Receiver side: the pad at `position`. Positions must not go backwards: any unused bytes
   * before `position` are discarded (zeroed), a position already passed is refused.
   */
  at(position: number, length: number): Uint8Array {
    assertInt('position', position, 0, Number.MAX_SAFE_INTEGER);
    if (position < this.#position) {
      throw new QledgerError(
        PAD_ERRORS.REUSED,
        `pad position ${position} was already used (next unused is ${this.#position})`,
        {
          position,
          next: this.#position,
        },
      );
    }
    const skip = position - this.#position;
    if (skip > 0) {
      if (skip > this.#available) this.#exhausted(skip + length);
      this.#take(skip).fill(0);
    }
    return this.#take(length);
  }

  /** Zeroes and drops all unused material. */
  destroy(): void {
    for (const c of this.#chunks) c.fill(0);
    this.#chunks = [];
    this.#position += this.#available;
    this.#available = 0;
    this.#head = 0;
  }

  #exhausted(length: number): never {
    throw new QledgerError(
      PAD_ERRORS.EXHAUSTED,
      `key stream has ${this.#available} bytes left, ${length} needed`,
      {
        needed: length,
        available: this.#available,
      },
    );
  }

  #take(length: number): Uint8Array {
    assertInt('length', length, 1, 2 ** 31 - 1);
    if (length > this.#available) this.#exhausted(length);
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const c = this.#chunks[0]!;
      const n = Math.min(length - filled, c.length - this.#head);
      const src = c.subarray(this.#head, this.#head + n);
      out.set(src, filled);
      src.fill(0);
      filled += n;
      this.#head += n;
      if (this.#head === c.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    this.#available -= length;
    this.#position += length;
    return out;
  }
}

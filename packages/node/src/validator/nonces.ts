/**
 * The validator's nonces (the peer handshake's, for now) from its QRNG mix: bytes drawn from
 * the health-tested EntropyMixer (QRNG ⊕ OS, docs/qrng.md) ahead of time, so a handshake
 * never waits on a QRNG. When the prefetched bytes run out, the OS CSPRNG alone serves and
 * the shortfall is counted: never a predictable value, never a stall.
 */
import { randomBytes } from 'node:crypto';
import type { EntropyMixer, MixerStats } from '@qledger/core';

const CHUNK = 1024;

export class NonceSource {
  readonly #mixer: EntropyMixer;
  #buf = new Uint8Array(0);
  #pos = 0;
  #refilling = false;
  #closed = false;
  readonly #started = Date.now();
  /** Nonce bytes served by the OS generator alone because the QRNG mix had none ready. */
  osFallbackBytes = 0;

  constructor(mixer: EntropyMixer) {
    this.#mixer = mixer;
    this.#refill();
  }

  /** `n` fresh bytes; each byte is handed out once and wiped from the buffer. */
  take(n: number): Uint8Array {
    if (this.#buf.length - this.#pos < n) {
      this.#refill();
      this.osFallbackBytes += n;
      return new Uint8Array(randomBytes(n));
    }
    const out = this.#buf.slice(this.#pos, this.#pos + n);
    this.#buf.fill(0, this.#pos, this.#pos + n);
    this.#pos += n;
    if (this.#buf.length - this.#pos < CHUNK / 2) this.#refill();
    return out;
  }

  #refill(): void {
    if (this.#refilling || this.#closed) return;
    this.#refilling = true;
    this.#mixer
      .randomBytes(CHUNK)
      .then((fresh) => {
        const rest = this.#buf.subarray(this.#pos);
        const next = new Uint8Array(rest.length + fresh.length);
        next.set(rest);
        next.set(fresh, rest.length);
        this.#buf.fill(0);
        fresh.fill(0);
        this.#buf = next;
        this.#pos = 0;
      })
      // QRNG_UNAVAILABLE under requireQrng: take() keeps serving from the OS and counts it.
      .catch(() => {})
      .finally(() => {
        this.#refilling = false;
      });
  }

  /** The mixer's counters and per-source health, with throughput since start. */
  stats(): MixerStats & { throughputBps: number; osFallbackBytes: number } {
    const s = this.#mixer.stats();
    const secs = Math.max(1, (Date.now() - this.#started) / 1000);
    return { ...s, throughputBps: s.bytesServed / secs, osFallbackBytes: this.osFallbackBytes };
  }

  close(): void {
    this.#closed = true;
    this.#buf.fill(0);
  }
}

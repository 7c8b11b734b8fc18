/**
 * The one path every consumer draws randomness from. Each draw reads health-tested bytes from
 * the first QRNG source that can serve (priority order, failing over), then fresh OS CSPRNG
 * bytes, and returns
 *
 *   out = SHAKE256( len‖"qledger/v1/qrng-mix" ‖ u32(n) ‖ u32(|q|) ‖ q ‖ os , n )
 *
 * so the output is unpredictable if either input is: a broken or hostile QRNG cannot weaken
 * the OS generator's contribution, and a weak OS generator is rescued by a working QRNG. The
 * QRNG bytes are read before the OS bytes exist, so a hostile QRNG cannot choose q to cancel
 * them. |q| ≥ 8n / (claimed min-entropy per byte) and ≥ 32 bytes; |os| = max(n, 32).
 */
import { assertInt, concatBytes, wipe } from '../bytes.js';
import { DOMAIN, labelPrefix } from '../crypto/domain.js';
import { nobleHashes } from '../crypto/hash-noble.js';
import { randomBytes } from '../crypto/random.js';
import type { HashSuite } from '../crypto/types.js';
import { QledgerError } from '../errors.js';
import { MAX_READ_BYTES, type MonitoredSource, type QrngEvent, type SourceStats } from './monitored.js';

export interface MixerOptions {
  /** QRNG sources in priority order (may be empty: OS only). */
  readonly sources: readonly MonitoredSource[];
  /** Refuse to serve (QRNG_UNAVAILABLE) rather than fall back to the OS generator alone. */
  readonly requireQrng?: boolean;
  readonly hashes?: HashSuite;
  /** The OS generator; Web Crypto by default. */
  readonly osBytes?: (length: number) => Uint8Array;
  readonly onEvent?: (e: QrngEvent) => void;
}

export interface Draw {
  readonly bytes: Uint8Array;
  /** The QRNG source mixed in, or null when the draw used the OS generator alone. */
  readonly source: string | null;
}

export interface MixerStats {
  readonly draws: number;
  readonly bytesServed: number;
  /** Draws served without any QRNG (all sources unavailable, requireQrng off). */
  readonly osOnlyDraws: number;
  /** Draws refused because no QRNG could serve and requireQrng is on. */
  readonly refusedDraws: number;
  /** Draws where a higher-priority source could not serve and a later one did. */
  readonly failovers: number;
  readonly requireQrng: boolean;
  readonly sources: readonly SourceStats[];
}

export const MAX_DRAW_BYTES = 1 << 20;
const MIN_INPUT = 32;

function u32(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

export class EntropyMixer {
  private readonly sources: readonly MonitoredSource[];
  private readonly requireQrng: boolean;
  private readonly hashes: HashSuite;
  private readonly osBytes: (length: number) => Uint8Array;
  private readonly onEvent: ((e: QrngEvent) => void) | undefined;
  private readonly counters = { draws: 0, bytesServed: 0, osOnlyDraws: 0, refusedDraws: 0, failovers: 0 };

  constructor(opts: MixerOptions) {
    if (!Array.isArray(opts?.sources)) throw new TypeError('opts.sources must be an array');
    const names = new Set<string>();
    for (const s of opts.sources) {
      if (names.has(s.name)) throw new RangeError(`source name ${JSON.stringify(s.name)} is used twice`);
      names.add(s.name);
    }
    this.sources = [...opts.sources];
    this.requireQrng = opts.requireQrng ?? false;
    this.hashes = opts.hashes ?? nobleHashes;
    this.osBytes = opts.osBytes ?? randomBytes;
    this.onEvent = opts.onEvent;
  }

  /** `length` mixed bytes (see the module comment). */
  async randomBytes(length: number): Promise<Uint8Array> {
    return (await this.draw(length)).bytes;
  }

  /** `length` mixed bytes and the QRNG source that contributed. */
  async draw(length: number): Promise<Draw> {
    assertInt('length', length, 0, MAX_DRAW_BYTES);
    let q: Uint8Array | undefined;
    let used: MonitoredSource | undefined;
    const reasons: string[] = [];
    for (const s of this.sources) {
      const qLen = Math.max(MIN_INPUT, Math.ceil((8 * length) / s.entropyPerByte));
      const parts: Uint8Array[] = [];
      try {
        // a low claimed min-entropy can ask for more than one read may return
        for (let left = qLen; left > 0; left -= MAX_READ_BYTES) {
          parts.push(await s.read(Math.min(left, MAX_READ_BYTES)));
        }
        q = parts.length === 1 ? parts[0]! : concatBytes(...parts);
        used = s;
        break;
      } catch (e) {
        if (!(e instanceof QledgerError) || !e.code.startsWith('QRNG_')) throw e;
        reasons.push(`${s.name}: ${e.code}`);
      } finally {
        if (parts.length > 1) wipe(...parts);
      }
    }
    if (used === undefined || q === undefined) {
      const reason = this.sources.length === 0 ? 'no QRNG source configured' : reasons.join(', ');
      if (this.requireQrng) {
        this.counters.refusedDraws++;
        throw new QledgerError(
          'QRNG_UNAVAILABLE',
          `no QRNG source can serve and requireQrng is set (${reason})`,
          {
            sources: this.sources.map((s) => ({ name: s.name, state: s.state })),
          },
        );
      }
      this.counters.osOnlyDraws++;
      if (this.sources.length > 0) this.onEvent?.({ type: 'fallback-os-only', reason });
      q = new Uint8Array(0);
    } else if (used !== this.sources[0]) {
      this.counters.failovers++;
    }
    const os = this.osBytes(Math.max(MIN_INPUT, length));
    const input = concatBytes(labelPrefix(DOMAIN.QRNG_MIX), u32(length), u32(q.length), q, os);
    const bytes = length === 0 ? new Uint8Array(0) : this.hashes.shake256(input, length);
    wipe(q, os, input);
    this.counters.draws++;
    this.counters.bytesServed += length;
    return { bytes, source: used?.name ?? null };
  }

  stats(): MixerStats {
    return { ...this.counters, requireQrng: this.requireQrng, sources: this.sources.map((s) => s.stats()) };
  }
}

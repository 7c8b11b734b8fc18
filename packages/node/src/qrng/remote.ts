/**
 * Remote QRNG services over HTTPS, in the two formats of FACTS.md. Every response is
 * validated (type, length, element range) before a single byte is used; anything unexpected
 * is QRNG_BAD_RESPONSE naming the field. API keys travel in a header (ANU) or, as that service
 * requires, in the path (Quantum Blockchains): they never appear in errors or logs, which
 * name the source and host only.
 */
import { DEFAULT_ENTROPY_FRACTION, type EntropySource, QledgerError, type SampleBits } from '@qledger/core';
import { getJson } from '../http/outbound.js';

export interface RemoteQrngOptions {
  readonly name: string;
  /** Service base URL (https only). */
  readonly url: string;
  readonly apiKey?: string | undefined;
  /** Trust anchors (PEM) replacing the system store; omit for public services. */
  readonly ca?: string | undefined;
  readonly timeoutMs?: number | undefined;
  /** Claimed min-entropy per byte (the services deliver conditioned bytes). */
  readonly minEntropy?: number | undefined;
}

const DEFAULT_TIMEOUT = 5000;

function bad(source: string, field: string, want: string, got: unknown): QledgerError {
  const shown =
    typeof got === 'string'
      ? JSON.stringify(got.slice(0, 40))
      : typeof got === 'number'
        ? String(got)
        : typeof got;
  return new QledgerError('QRNG_BAD_RESPONSE', `${source}: response ${field} must be ${want}, got ${shown}`, {
    source,
    field,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

abstract class RemoteQrng implements EntropySource {
  abstract readonly kind: 'anu' | 'qbck';
  readonly quantum = true;
  readonly sampleBits: SampleBits = 8;
  readonly name: string;
  readonly minEntropy: number;
  protected readonly base: URL;
  protected readonly label: string;
  protected readonly opts: RemoteQrngOptions;

  constructor(opts: RemoteQrngOptions) {
    this.name = opts.name;
    this.opts = opts;
    this.base = new URL(opts.url);
    if (this.base.protocol !== 'https:') throw new RangeError(`${opts.name}: url must be https://`);
    this.label = `${opts.name} (${this.base.host})`;
    this.minEntropy = opts.minEntropy ?? 8 * DEFAULT_ENTROPY_FRACTION;
  }

  abstract get chunkBytes(): number;
  protected abstract fetchChunk(bytes: number): Promise<Uint8Array>;

  async read(length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    for (let off = 0; off < length; ) {
      const chunk = await this.fetchChunk(Math.min(this.chunkBytes, length - off));
      out.set(chunk, off);
      chunk.fill(0);
      off += chunk.length;
    }
    return out;
  }

  protected get(url: URL, headers: Record<string, string>, expectBytes: number) {
    return getJson(url, {
      label: this.label,
      headers,
      timeoutMs: this.opts.timeoutMs ?? DEFAULT_TIMEOUT,
      maxBytes: 4096 + expectBytes * 8, // JSON numbers and hex with room for extra fields, yet bounded
      ...(this.opts.ca !== undefined ? { ca: this.opts.ca } : {}),
    });
  }
}

export type AnuFormat = 'uint8' | 'uint16' | 'hex16';

/**
 * ANU-style service: GET base?length=N&type=uint8|uint16|hex16[&size=S] with header
 * x-api-key → { success, type, length, data: [...] }. uint16 values are split big-endian;
 * hex16 elements are S bytes written as 2S hex digits. At most 1,024 elements per request.
 */
export class AnuQrng extends RemoteQrng {
  readonly kind = 'anu';
  readonly format: AnuFormat;
  readonly blockSize: number;
  private static readonly MAX_LENGTH = 1024;

  constructor(opts: RemoteQrngOptions & { format?: AnuFormat; blockSize?: number }) {
    super(opts);
    this.format = opts.format ?? 'uint8';
    this.blockSize = opts.blockSize ?? 16;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1 || this.blockSize > 1024)
      throw new RangeError(`${opts.name}: blockSize must be in [1, 1024]`);
  }

  private get bytesPerElement(): number {
    return this.format === 'uint8' ? 1 : this.format === 'uint16' ? 2 : this.blockSize;
  }

  get chunkBytes(): number {
    return AnuQrng.MAX_LENGTH * this.bytesPerElement;
  }

  protected async fetchChunk(bytes: number): Promise<Uint8Array> {
    const per = this.bytesPerElement;
    const length = Math.ceil(bytes / per);
    const url = new URL(this.base);
    url.searchParams.set('length', String(length));
    url.searchParams.set('type', this.format);
    if (this.format === 'hex16') url.searchParams.set('size', String(this.blockSize));
    const res = await this.get(url, this.opts.apiKey ? { 'x-api-key': this.opts.apiKey } : {}, length * per);
    const b = res.body;
    if (!isObject(b)) throw bad(this.name, 'body', 'an object', b);
    if (b.success !== true) {
      const msg = typeof b.message === 'string' ? `: ${b.message.slice(0, 200)}` : '';
      throw new QledgerError('QRNG_BAD_RESPONSE', `${this.name}: service reported failure${msg}`, {
        source: this.name,
        field: 'success',
      });
    }
    if (b.type !== this.format) throw bad(this.name, 'type', JSON.stringify(this.format), b.type);
    if (b.length !== length) throw bad(this.name, 'length', String(length), b.length);
    if (!Array.isArray(b.data) || b.data.length !== length)
      throw bad(
        this.name,
        'data',
        `an array of ${length} elements`,
        Array.isArray(b.data) ? b.data.length : b.data,
      );
    const out = new Uint8Array(length * per);
    const hexRe = new RegExp(`^[0-9a-fA-F]{${2 * this.blockSize}}$`);
    b.data.forEach((v: unknown, i: number) => {
      if (this.format === 'hex16') {
        if (typeof v !== 'string' || !hexRe.test(v))
          throw bad(this.name, `data[${i}]`, `${2 * per} hex digits`, v);
        for (let j = 0; j < per; j++) out[i * per + j] = Number.parseInt(v.slice(2 * j, 2 * j + 2), 16);
      } else {
        const max = this.format === 'uint8' ? 255 : 65535;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
          throw bad(this.name, `data[${i}]`, `an integer in [0, ${max}]`, v);
        if (per === 1) out[i] = v;
        else {
          out[2 * i] = v >>> 8;
          out[2 * i + 1] = v & 0xff;
        }
      }
    });
    return out.subarray(0, bytes);
  }
}

/**
 * Quantum Blockchains-style service: GET base/{apiKey}/qbck/block/short?size=N&min=0&max=255
 * → { data: { result: [N integers in [0, 255]] } }, one byte per element.
 */
export class QbckQrng extends RemoteQrng {
  readonly kind = 'qbck';
  readonly chunkBytes: number;

  constructor(opts: RemoteQrngOptions & { maxPerRequest?: number }) {
    super(opts);
    if (!opts.apiKey) throw new RangeError(`${opts.name}: the Quantum Blockchains API needs an API key`);
    this.chunkBytes = opts.maxPerRequest ?? 1024;
  }

  protected async fetchChunk(bytes: number): Promise<Uint8Array> {
    const url = new URL(this.base);
    const prefix = url.pathname.replace(/\/+$/, '');
    url.pathname = `${prefix}/${encodeURIComponent(this.opts.apiKey!)}/qbck/block/short`;
    url.searchParams.set('size', String(bytes));
    url.searchParams.set('min', '0');
    url.searchParams.set('max', '255');
    const res = await this.get(url, {}, bytes);
    const b = res.body;
    if (!isObject(b) || !isObject(b.data))
      throw bad(this.name, 'data', 'an object', isObject(b) ? b.data : b);
    const r = b.data.result;
    if (!Array.isArray(r) || r.length !== bytes)
      throw bad(this.name, 'data.result', `an array of ${bytes} elements`, Array.isArray(r) ? r.length : r);
    const out = new Uint8Array(bytes);
    r.forEach((v: unknown, i: number) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255)
        throw bad(this.name, `data.result[${i}]`, 'an integer in [0, 255]', v);
      out[i] = v;
    });
    return out;
  }
}

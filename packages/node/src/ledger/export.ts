/**
 * Chain export files: a header record, then one record per block, each framed as a 4-byte
 * big-endian length and canonical CBOR. The header carries the format, its version, the
 * genesis config text and the head height at export time.
 *   record 0: { format: "qledger-chain", version: 1, genesis: TEXT, height: N }
 *   record k: encodeBlock(block k−1)   (genesis is block 0)
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { type CborValue, decode, encode, QledgerError } from '@qledger/core';

export const EXPORT_FORMAT = 'qledger-chain';
export const EXPORT_VERSION = 1;
const MAX_RECORD = 1 << 30;

export interface ExportHeader {
  readonly genesis: string;
  readonly height: number;
}

export class ExportWriter {
  private readonly fd: number;

  constructor(path: string, header: ExportHeader) {
    this.fd = openSync(path, 'w');
    this.record(
      encode({
        format: EXPORT_FORMAT,
        version: EXPORT_VERSION,
        genesis: header.genesis,
        height: header.height,
      }),
    );
  }

  record(bytes: Uint8Array): void {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    writeSync(this.fd, len);
    writeSync(this.fd, bytes);
  }

  close(): void {
    closeSync(this.fd);
  }
}

function bad(message: string): QledgerError {
  return new QledgerError('IMPORT_INVALID', message);
}

/** Reads an export file record by record without loading it whole. */
export class ExportReader {
  private readonly fd: number;
  private buf = Buffer.alloc(1 << 20);
  private start = 0;
  private end = 0;
  private eof = false;
  readonly header: ExportHeader;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
    const first = this.next();
    if (!first) throw bad('the file is empty');
    let v: CborValue;
    try {
      v = decode(first);
    } catch {
      throw bad('the first record is not a qledger export header');
    }
    const h = v as { format?: unknown; version?: unknown; genesis?: unknown; height?: unknown };
    if (h.format !== EXPORT_FORMAT) throw bad('not a qledger chain export (format field)');
    if (h.version !== EXPORT_VERSION)
      throw bad(`export version ${String(h.version)} is not supported (want ${EXPORT_VERSION})`);
    if (typeof h.genesis !== 'string' || typeof h.height !== 'number')
      throw bad('the header lacks genesis or height');
    this.header = { genesis: h.genesis, height: h.height };
  }

  private fill(need: number): boolean {
    while (this.end - this.start < need && !this.eof) {
      if (this.buf.length < need) {
        const bigger = Buffer.alloc(Math.max(need, this.buf.length * 2));
        this.buf.copy(bigger, 0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
        this.buf = bigger;
      } else if (this.buf.length - this.start < need) {
        this.buf.copy(this.buf, 0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      }
      const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      if (n === 0) this.eof = true;
      this.end += n;
    }
    return this.end - this.start >= need;
  }

  /** The next record, or null at the end of the file. */
  next(): Uint8Array | null {
    if (!this.fill(4)) {
      if (this.end > this.start) throw bad('the file ends inside a record length');
      return null;
    }
    const len = this.buf.readUInt32BE(this.start);
    if (len > MAX_RECORD) throw bad(`a record claims ${len} bytes`);
    if (!this.fill(4 + len)) throw bad('the file ends inside a record (truncated export)');
    const out = new Uint8Array(this.buf.subarray(this.start + 4, this.start + 4 + len));
    this.start += 4 + len;
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * A QRNG that appears as a character device (e.g. /dev/qrandom0 of a Quantis PCIe card) or,
 * for replaying captured output, a file. Reads go forward only: a file that runs out is an
 * error (QRNG_SOURCE_IO), never rewound, so no byte is ever served twice.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { DEFAULT_ENTROPY_FRACTION, type EntropySource, QledgerError, type SampleBits } from '@qledger/core';

export interface DeviceQrngOptions {
  readonly name: string;
  readonly path: string;
  readonly sampleBits?: SampleBits;
  readonly minEntropy?: number;
  readonly chunkBytes?: number;
}

export class DeviceQrng implements EntropySource {
  readonly kind = 'device';
  readonly quantum = true;
  readonly name: string;
  readonly sampleBits: SampleBits;
  readonly minEntropy: number;
  readonly chunkBytes: number;
  readonly path: string;
  private fh: FileHandle | undefined;
  private position = 0;
  private regularFile = false;

  constructor(opts: DeviceQrngOptions) {
    this.name = opts.name;
    this.path = opts.path;
    this.sampleBits = opts.sampleBits ?? 8;
    this.minEntropy = opts.minEntropy ?? this.sampleBits * DEFAULT_ENTROPY_FRACTION;
    this.chunkBytes = opts.chunkBytes ?? 4096;
  }

  async read(length: number): Promise<Uint8Array> {
    try {
      if (this.fh === undefined) {
        this.fh = await open(this.path, 'r');
        this.regularFile = (await this.fh.stat()).isFile();
      }
    } catch (e) {
      throw new QledgerError(
        'QRNG_SOURCE_IO',
        `${this.name}: cannot open ${this.path} (${(e as NodeJS.ErrnoException).code ?? e})`,
        {
          source: this.name,
        },
      );
    }
    const out = new Uint8Array(length);
    let off = 0;
    while (off < length) {
      // files are read at our own offset; devices and pipes from wherever they stand
      const { bytesRead } = await this.fh.read(
        out,
        off,
        length - off,
        this.regularFile ? this.position : null,
      );
      if (bytesRead === 0) {
        out.fill(0);
        throw new QledgerError(
          'QRNG_SOURCE_IO',
          `${this.name}: ${this.path} is exhausted after ${this.position} bytes`,
          {
            source: this.name,
          },
        );
      }
      off += bytesRead;
      this.position += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}

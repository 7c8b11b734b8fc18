/**
 * What the page follows live: blocks and committed transactions from the validators' SSE
 * stream (through the devnet), and the QKD network polled once a second. Views read it and
 * re-render on `changed`.
 */
import type { QledgerClient } from '@qledger/core/api';
import { Series } from './charts.js';
import { type DevnetNetwork, network } from './devnet.js';

export interface LiveBlock {
  height: number;
  hash: string;
  txCount: number;
  proposer: string;
  round: number;
  seenAt: number;
}

export class Live extends EventTarget {
  height = 0;
  blocks: LiveBlock[] = [];
  net: DevnetNetwork | null = null;
  netError: string | null = null;
  connected = false;
  readonly txPerSec = new Series();
  readonly latencyMs = new Series();
  readonly bitsPerTx = new Series();
  #txThisSecond = 0;
  #lastBits: number | null = null;
  #lastTxs: number | null = null;

  constructor(readonly api: QledgerClient) {
    super();
  }

  start(): void {
    void this.#follow();
    void this.#poll();
    setInterval(() => {
      const now = Date.now();
      this.txPerSec.push(now, this.#txThisSecond);
      this.#txThisSecond = 0;
      void this.#poll();
    }, 1000);
  }

  async #follow(): Promise<void> {
    for (;;) {
      try {
        const latest = await this.api.latestBlock();
        this.height = Math.max(this.height, latest.height);
        this.connected = true;
        this.#changed();
        await this.api.events((name, e) => {
          if (name === 'block') {
            const b = e as {
              height: number;
              hash: string;
              txCount: number;
              proposer: string;
              round: number;
              time: number;
            };
            if (b.height <= this.height && this.blocks.some((x) => x.height === b.height)) return;
            this.height = Math.max(this.height, b.height);
            this.blocks.unshift({ ...b, seenAt: Date.now() });
            this.blocks.length = Math.min(this.blocks.length, 12);
            this.#txThisSecond += b.txCount;
            if (b.txCount > 0) this.latencyMs.push(Date.now(), Math.max(0, Date.now() - b.time));
            this.#changed();
          }
        });
      } catch {
        // The devnet is restarting a validator, or the page lost the server: retry.
      }
      this.connected = false;
      this.#changed();
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async #poll(): Promise<void> {
    try {
      this.net = await network();
      this.netError = null;
      const up = this.net.validators.filter((v) => v.status);
      const bits = up.reduce((a, v) => a + (v.status?.qkdBitsConsumed ?? 0), 0);
      const txs = up.reduce((a, v) => a + (v.status?.stats.txsCommitted ?? 0), 0) / Math.max(1, up.length);
      if (this.#lastBits !== null && this.#lastTxs !== null && txs > this.#lastTxs)
        this.bitsPerTx.push(Date.now(), (bits - this.#lastBits) / 2 / (txs - this.#lastTxs));
      this.#lastBits = bits;
      this.#lastTxs = txs;
      for (const v of up) this.height = Math.max(this.height, v.status!.height);
    } catch (e) {
      this.netError = (e as Error).message;
    }
    this.#changed();
  }

  #changed(): void {
    this.dispatchEvent(new Event('changed'));
  }
}

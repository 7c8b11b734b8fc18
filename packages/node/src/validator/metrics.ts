/**
 * Prometheus metrics of a validator (GET /metrics), read from its status at scrape time:
 *   qledger_height, qledger_consensus_round, qledger_mempool_transactions
 *   qledger_blocks_committed_total, qledger_transactions_committed_total
 *   qledger_peers_connected
 *   qledger_link_state{peer,state}            1 for the link's current state (qkd|fallback|halted)
 *   qledger_link_alarm{peer}                  1 while the KME reports a QBER alarm
 *   qledger_link_qber{peer}
 *   qledger_link_buffer_bits{peer}            unused QKD pad for sending
 *   qledger_link_qkd_bits_total{peer,direction}  QKD key bits taken from the KME (out|in)
 *   qledger_link_tags_total{peer,kind}        sent|checked|bad|fallback_sent|refused_fallback
 *   qledger_link_fallbacks_total{peer}
 * and the QRNG metrics of qrng/metrics.ts. Nothing here carries key material.
 */
import { Gauge, Registry } from 'prom-client';
import { registerQrngMetrics } from '../qrng/metrics.js';
import type { Validator } from './runtime.js';

const STATES = ['qkd', 'fallback', 'halted'] as const;

export function validatorMetrics(v: Validator): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ validator: v.name });
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (g: Gauge, s: ReturnType<Validator['status']>) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this, v.status());
      },
    });
  gauge('qledger_height', 'Height of the last committed block', [], (g, s) => g.set(s.height));
  gauge('qledger_consensus_round', 'Consensus round at the current height', [], (g, s) =>
    g.set(s.consensus.round),
  );
  gauge('qledger_mempool_transactions', 'Transactions waiting in the mempool', [], (g, s) =>
    g.set(s.mempool.size),
  );
  gauge('qledger_blocks_committed_total', 'Blocks committed since start', [], (g, s) =>
    g.set(s.stats.blocks),
  );
  gauge('qledger_transactions_committed_total', 'Transactions committed since start', [], (g, s) =>
    g.set(s.stats.txsCommitted),
  );
  gauge('qledger_peers_connected', 'Peers with an authenticated connection', [], (g, s) =>
    g.set(s.peers.filter((p) => p.connected).length),
  );
  gauge(
    'qledger_link_state',
    'The link authentication state (1 for the current one)',
    ['peer', 'state'],
    (g, s) => {
      for (const l of s.links)
        for (const st of STATES) g.set({ peer: l.peer, state: st }, l.state === st ? 1 : 0);
    },
  );
  gauge('qledger_link_alarm', 'The KME reports a QBER alarm on the QKD link', ['peer'], (g, s) => {
    for (const l of s.links) g.set({ peer: l.peer }, l.alarm ? 1 : 0);
  });
  gauge('qledger_link_qber', 'Quantum bit error rate reported by the KME', ['peer'], (g, s) => {
    for (const l of s.links) if (l.qber !== null) g.set({ peer: l.peer }, l.qber);
  });
  gauge('qledger_link_buffer_bits', 'Unused QKD pad held for sending', ['peer'], (g, s) => {
    for (const l of s.links) g.set({ peer: l.peer }, l.bufferBits);
  });
  gauge('qledger_link_qkd_bits_total', 'QKD key bits taken from the KME', ['peer', 'direction'], (g, s) => {
    for (const l of s.links) {
      g.set({ peer: l.peer, direction: 'out' }, l.qkdBitsOut);
      g.set({ peer: l.peer, direction: 'in' }, l.qkdBitsIn);
    }
  });
  gauge('qledger_link_tags_total', 'Link MAC tags by kind', ['peer', 'kind'], (g, s) => {
    for (const l of s.links) {
      g.set({ peer: l.peer, kind: 'sent' }, l.tagsSent);
      g.set({ peer: l.peer, kind: 'checked' }, l.tagsChecked);
      g.set({ peer: l.peer, kind: 'bad' }, l.badTags);
      g.set({ peer: l.peer, kind: 'fallback_sent' }, l.fallbackTagsSent);
      g.set({ peer: l.peer, kind: 'refused_fallback' }, l.refusedFallbackTags);
    }
  });
  gauge(
    'qledger_link_fallbacks_total',
    'Times the link fell back to ML-KEM-derived keys',
    ['peer'],
    (g, s) => {
      for (const l of s.links) g.set({ peer: l.peer }, l.fallbacks);
    },
  );
  registerQrngMetrics(registry, { stats: () => v.qrng() });
  return registry;
}

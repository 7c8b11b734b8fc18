/**
 * Prometheus metrics of the QRNG path, read from the mixer's counters at scrape time.
 *   qledger_qrng_source_up{source,kind}                 1 healthy, 0 otherwise
 *   qledger_qrng_source_state{source,state}             1 for the current state
 *   qledger_qrng_health_failures_total{source,test}     RCT / APT failures (SP 800-90B)
 *   qledger_qrng_startup_failures_total{source}
 *   qledger_qrng_quarantines_total{source}
 *   qledger_qrng_io_errors_total{source}
 *   qledger_qrng_bytes_served_total{source}
 *   qledger_qrng_draws_total{mode="qrng|os_only|refused"}
 */
import type { EntropyMixer } from '@qledger/core';
import { Counter, Gauge, type Registry } from 'prom-client';

const STATES = ['starting', 'healthy', 'quarantined', 'failed'] as const;

export function registerQrngMetrics(registry: Registry, mixer: Pick<EntropyMixer, 'stats'>): void {
  const snapshot = () => mixer.stats();
  const counter = (metric: string, help: string, labelNames: string[], fill: (c: Counter) => void) =>
    new Counter({
      name: metric,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });
  new Gauge({
    name: 'qledger_qrng_source_up',
    help: 'Whether the QRNG source is healthy and serving (1) or not (0)',
    labelNames: ['source', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of snapshot().sources)
        this.set({ source: s.name, kind: s.kind }, s.state === 'healthy' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'qledger_qrng_source_state',
    help: 'Health state of the QRNG source (1 for the current state)',
    labelNames: ['source', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of snapshot().sources)
        for (const st of STATES) this.set({ source: s.name, state: st }, s.state === st ? 1 : 0);
    },
  });
  counter(
    'qledger_qrng_health_failures_total',
    'SP 800-90B health test failures',
    ['source', 'test'],
    (c) => {
      for (const s of snapshot().sources) {
        c.inc({ source: s.name, test: 'rct' }, s.healthFailures.rct);
        c.inc({ source: s.name, test: 'apt' }, s.healthFailures.apt);
      }
    },
  );
  counter('qledger_qrng_startup_failures_total', 'Start-up tests failed', ['source'], (c) => {
    for (const s of snapshot().sources) c.inc({ source: s.name }, s.startupFailures);
  });
  counter('qledger_qrng_quarantines_total', 'Times the source was quarantined', ['source'], (c) => {
    for (const s of snapshot().sources) c.inc({ source: s.name }, s.quarantines);
  });
  counter(
    'qledger_qrng_io_errors_total',
    'Reads that failed (network, device, bad response)',
    ['source'],
    (c) => {
      for (const s of snapshot().sources) c.inc({ source: s.name }, s.ioErrors);
    },
  );
  counter('qledger_qrng_bytes_served_total', 'Health-tested bytes mixed into output', ['source'], (c) => {
    for (const s of snapshot().sources) c.inc({ source: s.name }, s.bytesServed);
  });
  counter('qledger_qrng_draws_total', 'Mixer draws by what fed them', ['mode'], (c) => {
    const m = snapshot();
    c.inc({ mode: 'qrng' }, m.draws - m.osOnlyDraws);
    c.inc({ mode: 'os_only' }, m.osOnlyDraws);
    c.inc({ mode: 'refused' }, m.refusedDraws);
  });
}

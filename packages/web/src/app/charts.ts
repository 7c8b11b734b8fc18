/** Rolling time series and a small SVG line chart for them. */
import { h, s } from './dom.js';

export class Series {
  readonly points: { t: number; v: number }[] = [];
  constructor(readonly keepMs = 120_000) {}
  push(t: number, v: number): void {
    this.points.push({ t, v });
    while (this.points.length > 0 && this.points[0]!.t < t - this.keepMs) this.points.shift();
  }
  get last(): number | undefined {
    return this.points[this.points.length - 1]?.v;
  }
}

export function chart(title: string, series: Series, unit: string, now: number): HTMLElement {
  const W = 300;
  const H = 80;
  const max = Math.max(1, ...series.points.map((p) => p.v));
  const x = (t: number) => W - ((now - t) / series.keepMs) * W;
  const y = (v: number) => H - 4 - (v / max) * (H - 12);
  const d = series.points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`)
    .join(' ');
  const last = series.last;
  return h(
    'figure',
    { class: 'chart' },
    h(
      'figcaption',
      {},
      title,
      h('b', {}, last === undefined ? '–' : `${Math.round(last * 10) / 10} ${unit}`),
    ),
    s(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': title },
      s('path', { d, class: 'line' }),
      s('text', { x: 4, y: 12, class: 'axis' }, `max ${Math.round(max * 10) / 10}`),
    ),
  );
}

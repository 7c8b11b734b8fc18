/**
 * The network view: validators at their QKD sites, the fibre links between sites (key
 * rate, key pool, QBER, eavesdropper, alarm, cut), each validator pair's link
 * authentication (QKD, ML-KEM fallback or halted), blocks arriving live, charts, and the
 * devnet controls.
 */
import { chart } from './charts.js';
import { control, type DevnetLink, type DevnetNetwork } from './devnet.js';
import { h, mount, s, si } from './dom.js';
import type { Live } from './live.js';

const TOKEN_KEY = 'qledger.adminToken';

function linkState(l: DevnetLink): 'cut' | 'alarm' | 'eavesdrop' | 'ok' {
  if (l.cut) return 'cut';
  if (l.alarm) return 'alarm';
  if (l.eavesdrop > 0) return 'eavesdrop';
  return 'ok';
}

function graph(net: DevnetNetwork): SVGSVGElement {
  const W = 560;
  const H = 400;
  const cx = W / 2;
  const cy = H / 2;
  const r = 140;
  const pos = new Map<string, { x: number; y: number }>();
  net.sites.forEach((site, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / net.sites.length;
    pos.set(site.id, { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) });
  });
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'graph',
    role: 'img',
    'aria-label': 'QKD network',
  });
  // Validator-to-validator authentication (inner lines), by the state each end reports.
  const site = new Map(net.validators.map((v) => [v.name, v.site]));
  const drawn = new Set<string>();
  for (const v of net.validators)
    for (const l of v.status?.links ?? []) {
      const key = [v.name, l.peer].sort().join('~');
      if (drawn.has(key)) continue;
      drawn.add(key);
      const a = pos.get(v.site);
      const b = pos.get(site.get(l.peer) ?? '');
      if (!a || !b) continue;
      const other = net.validators
        .find((x) => x.name === l.peer)
        ?.status?.links.find((y) => y.peer === v.name);
      const state = [l.state, other?.state].includes('halted')
        ? 'halted'
        : [l.state, other?.state].includes('fallback')
          ? 'fallback'
          : 'qkd';
      // Bent toward the centre, so a pair whose sites share a fibre stays visible beside it.
      const qx = (a.x + b.x) / 2 + (cx - (a.x + b.x) / 2) * 0.35;
      const qy = (a.y + b.y) / 2 + (cy - (a.y + b.y) / 2) * 0.35;
      svg.append(
        s('path', {
          d: `M${a.x},${a.y} Q${qx},${qy} ${b.x},${b.y}`,
          class: `auth auth-${state}`,
          'data-pair': key,
          'data-state': state,
        }),
      );
    }
  // Fibre links between sites.
  for (const l of net.links) {
    const a = pos.get(l.a);
    const b = pos.get(l.b);
    if (!a || !b) continue;
    const state = linkState(l);
    const pool = Object.values(l.poolBits).reduce((x, y) => x + y, 0);
    const mx = (a.x + b.x) / 2;
    const my = (a.y + b.y) / 2;
    // Labels sit outside the ring, clear of the lines inside it.
    const dist = Math.hypot(mx - cx, my - cy) || 1;
    const ox = ((mx - cx) / dist) * 95;
    const oy = ((my - cy) / dist) * 95;
    svg.append(
      s(
        'g',
        { class: `fibre fibre-${state}`, 'data-link': l.id, 'data-state': state },
        s('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y }),
        s(
          'text',
          { x: mx + ox, y: my + oy - 8, 'text-anchor': 'middle', class: 'label' },
          `${l.id} · ${state === 'ok' ? 'key flowing' : state}`,
        ),
        s(
          'text',
          { x: mx + ox, y: my + oy + 6, 'text-anchor': 'middle', class: 'sub' },
          `${si(l.skrBps, 'b/s')} · pool ${si(pool, 'b')} · QBER ${(l.qber * 100).toFixed(1)}%`,
        ),
      ),
    );
  }
  for (const sdef of net.sites) {
    const p = pos.get(sdef.id)!;
    const v = net.validators.find((x) => x.site === sdef.id);
    svg.append(
      s(
        'g',
        { class: `site ${v?.up ? 'up' : 'down'}`, 'data-validator': v?.name ?? '' },
        s('circle', { cx: p.x, cy: p.y, r: 36 }),
        s('text', { x: p.x, y: p.y - 2, 'text-anchor': 'middle', class: 'name' }, v?.name ?? sdef.id),
        s(
          'text',
          { x: p.x, y: p.y + 13, 'text-anchor': 'middle', class: 'sub' },
          `${sdef.id} · ${v?.status ? `h ${v.status.height}` : 'down'}`,
        ),
      ),
    );
  }
  return svg;
}

function authTable(net: DevnetNetwork): HTMLElement {
  const rows = net.validators.flatMap((v) =>
    (v.status?.links ?? []).map((l) =>
      h(
        'tr',
        { 'data-auth': `${v.name}-${l.peer}` },
        h('td', {}, `${v.name} → ${l.peer}`),
        h('td', { class: `state-${l.state}` }, l.state, l.fallbackReason ? ` (${l.fallbackReason})` : ''),
        h('td', {}, si(l.bufferBits, 'b')),
        h('td', {}, si(l.qkdBitsOut + l.qkdBitsIn, 'b')),
        h('td', {}, l.qber === null ? '–' : `${(l.qber * 100).toFixed(1)}%`),
        h('td', {}, l.alarm ? 'ALARM' : ''),
        h('td', {}, String(l.fallbacks)),
        h('td', {}, String(l.badTags)),
      ),
    ),
  );
  return h(
    'table',
    { class: 'auth-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...[
          'link',
          'authentication',
          'key buffer',
          'QKD bits used',
          'QBER',
          'alarm',
          'fallbacks',
          'bad tags',
        ].map((t) => h('th', {}, t)),
      ),
    ),
    h('tbody', {}, ...rows),
  );
}

function controls(live: Live, say: (msg: string) => void): [HTMLElement, () => void] {
  const token = h('input', {
    id: 'admin-token',
    type: 'password',
    placeholder: 'admin token (.qledger/kme/admin.token)',
    autocomplete: 'off',
    value: sessionStorage.getItem(TOKEN_KEY) ?? '',
    onchange: (e) => sessionStorage.setItem(TOKEN_KEY, (e.target as HTMLInputElement).value.trim()),
  });
  const list = h('div', { class: 'controls-list' });
  const act = async (id: string, c: { eavesdrop?: number; cut?: boolean }) => {
    const t = token.value.trim();
    sessionStorage.setItem(TOKEN_KEY, t);
    const err = await control(id, t, c);
    say(
      err ??
        `${id}: ${c.eavesdrop !== undefined ? `eavesdropper ${c.eavesdrop > 0 ? 'on' : 'off'}` : c.cut ? 'cut' : 'restored'}`,
    );
  };
  const render = () => {
    mount(
      list,
      ...(live.net?.links ?? []).map((l) =>
        h(
          'div',
          { class: 'control' },
          h('span', {}, l.id),
          h(
            'button',
            { 'data-eavesdrop': l.id, onclick: () => act(l.id, { eavesdrop: l.eavesdrop > 0 ? 0 : 0.5 }) },
            l.eavesdrop > 0 ? 'Stop eavesdropper' : 'Eavesdrop',
          ),
          h(
            'button',
            { 'data-cut': l.id, onclick: () => act(l.id, { cut: !l.cut }) },
            l.cut ? 'Restore' : 'Cut',
          ),
        ),
      ),
    );
  };
  live.addEventListener('changed', render);
  render();
  return [
    h(
      'section',
      { class: 'panel controls' },
      h('h2', {}, 'Devnet controls'),
      h('form', { onsubmit: (e) => e.preventDefault() }, token),
      list,
    ),
    () => live.removeEventListener('changed', render),
  ];
}

export function networkView(root: HTMLElement, live: Live): () => void {
  const msg = h('p', { class: 'message', id: 'control-message', role: 'status' });
  const say = (m: string) => {
    msg.textContent = m;
  };
  const graphBox = h('div', { class: 'graph-box' });
  const blocks = h('ol', { class: 'blocks', id: 'live-blocks' });
  const charts = h('div', { class: 'charts' });
  const auth = h('div', { class: 'auth-box' });
  const head = h('div', { class: 'stats' });
  const [panel, leaveControls] = controls(live, say);
  mount(
    root,
    head,
    h(
      'div',
      { class: 'grid' },
      h('section', { class: 'panel' }, h('h2', {}, 'QKD network'), graphBox),
      h('section', { class: 'panel' }, h('h2', {}, 'Blocks'), blocks),
    ),
    h('section', { class: 'panel' }, h('h2', {}, 'Throughput, latency and key use'), charts),
    h('section', { class: 'panel' }, h('h2', {}, 'Validator links'), auth),
    panel,
    msg,
  );
  const render = () => {
    const net = live.net;
    const up = net?.validators.filter((v) => v.up).length ?? 0;
    // The leader order's epoch and where it came from, as the first live validator sees it.
    const beacon = net?.validators.find((v) => v.status)?.status?.beacon;
    mount(
      head,
      h('div', {}, h('span', {}, 'height'), h('b', { id: 'height' }, String(live.height))),
      h('div', {}, h('span', {}, 'validators up'), h('b', {}, `${up}/${net?.validators.length ?? '–'}`)),
      h(
        'div',
        { title: 'Leader order: genesis (epochs 0–1), QRNG beacon, or fallback' },
        h('span', {}, 'leader order'),
        h(
          'b',
          { id: 'beacon' },
          beacon
            ? `epoch ${beacon.epoch} · ${beacon.source}${beacon.contributors.length ? ` (${beacon.contributors.length} reveals)` : ''}`
            : '–',
        ),
      ),
      h('div', {}, h('span', {}, 'live'), h('b', {}, live.connected ? 'connected' : 'reconnecting…')),
      live.netError ? h('div', { class: 'error' }, live.netError) : null,
    );
    if (net) {
      mount(graphBox, graph(net));
      mount(auth, authTable(net));
    }
    mount(
      blocks,
      ...live.blocks.map((b) =>
        h(
          'li',
          { class: Date.now() - b.seenAt < 1500 ? 'fresh' : '' },
          h('a', { href: `#/block/${b.height}` }, `#${b.height}`),
          ` ${b.txCount} tx · ${b.proposer} · round ${b.round}`,
        ),
      ),
    );
    const now = Date.now();
    mount(
      charts,
      chart('committed tx/s', live.txPerSec, 'tx/s', now),
      chart('proposal → commit', live.latencyMs, 'ms', now),
      chart('QKD key bits per tx', live.bitsPerTx, 'b', now),
    );
  };
  live.addEventListener('changed', render);
  render();
  return () => {
    live.removeEventListener('changed', render);
    leaveControls();
  };
}

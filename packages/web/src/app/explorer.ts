/**
 * The explorer: blocks (paged), one block, one transaction, identities with their trust
 * score, datasets with search. Every read goes through the typed client.
 */
import { ApiError, type QledgerClient } from '@qledger/core/api';
import { h, link, mount, short } from './dom.js';

const field = (name: string, ...value: (Node | string)[]) =>
  h('tr', {}, h('th', {}, name), h('td', {}, ...value));
const when = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');

function failure(root: HTMLElement, e: unknown): void {
  const text = e instanceof ApiError ? `${e.code}: ${e.message}` : (e as Error).message;
  mount(root, h('p', { class: 'error', id: 'not-found' }, text));
}

export async function blocksView(root: HTMLElement, api: QledgerClient, cursor?: string): Promise<void> {
  const page = await api.blocks({ limit: 20, ...(cursor ? { cursor } : {}) });
  mount(
    root,
    h('h2', {}, 'Blocks'),
    h(
      'table',
      { class: 'list', id: 'block-list' },
      h(
        'thead',
        {},
        h('tr', {}, ...['height', 'hash', 'txs', 'proposer', 'time'].map((t) => h('th', {}, t))),
      ),
      h(
        'tbody',
        {},
        ...page.blocks.map((b) =>
          h(
            'tr',
            { 'data-height': b.height },
            h('td', {}, link(`#/block/${b.height}`, String(b.height))),
            h('td', { class: 'mono' }, short(b.hash, 16)),
            h('td', {}, String(b.txCount)),
            h('td', {}, b.proposer),
            h('td', {}, when(b.time)),
          ),
        ),
      ),
    ),
    page.next ? h('p', {}, link(`#/explorer/${page.next}`, 'Older blocks →')) : null,
  );
}

export async function blockView(root: HTMLElement, api: QledgerClient, ref: string): Promise<void> {
  try {
    const b = await api.block(ref);
    mount(
      root,
      h('h2', {}, `Block ${b.height}`),
      h(
        'table',
        { class: 'fields' },
        field('hash', h('span', { class: 'mono' }, b.hash)),
        field('previous', b.height > 0 ? link(`#/block/${b.height - 1}`, short(b.prev, 16)) : '—'),
        field('time', when(b.time)),
        field('proposer', b.proposer),
        field('transactions', String(b.txCount)),
        field('tx root', h('span', { class: 'mono' }, b.txRoot)),
        field('state root', h('span', { class: 'mono' }, b.stateRoot)),
        field(
          'epoch seed',
          h(
            'span',
            { class: 'mono', id: 'epoch-seed' },
            b.beacon || 'none (the first two epochs follow the genesis order)',
          ),
        ),
        field(
          'commit certificate',
          b.cert
            ? `round ${b.cert.round}, ML-DSA signatures of ${b.cert.signers.join(', ')}`
            : 'none (genesis)',
        ),
      ),
      h('h3', {}, 'Transactions'),
      h(
        'table',
        { class: 'list' },
        h(
          'tbody',
          {},
          ...b.txs.map((t) =>
            h(
              'tr',
              {},
              h('td', {}, link(`#/tx/${t.id}`, short(t.id, 16))),
              h('td', {}, t.kind),
              h('td', {}, link(`#/identity/${encodeURIComponent(t.sender)}`, t.sender)),
            ),
          ),
        ),
      ),
    );
  } catch (e) {
    failure(root, e);
  }
}

export async function txView(root: HTMLElement, api: QledgerClient, id: string): Promise<void> {
  try {
    const t = await api.tx(id);
    mount(
      root,
      h('h2', {}, 'Transaction'),
      h(
        'table',
        { class: 'fields' },
        field('id', h('span', { class: 'mono' }, t.id)),
        field('status', h('b', { id: 'tx-status', class: `status-${t.status}` }, t.status)),
        t.height !== undefined
          ? field('block', link(`#/block/${t.height}`, `#${t.height}`), ` (index ${t.index ?? 0})`)
          : null,
        t.kind ? field('kind', t.kind) : null,
        t.sender ? field('sender', link(`#/identity/${encodeURIComponent(t.sender)}`, t.sender)) : null,
        t.code ? field('rejected', `${t.code}: ${t.message ?? ''}`) : null,
      ),
    );
  } catch (e) {
    failure(root, e);
  }
}

export async function identityView(root: HTMLElement, api: QledgerClient, name: string): Promise<void> {
  try {
    const i = await api.call('getIdentity', { params: { name } });
    mount(
      root,
      h('h2', {}, `Identity ${i.name}`),
      h(
        'table',
        { class: 'fields' },
        field('status', i.status),
        field(
          'trust score',
          h('b', { id: 'trust' }, i.trust === null ? '–' : `${(i.trust / 10_000).toFixed(1)} / 100`),
        ),
        field('signature key', `${i.sigAlg} `, h('span', { class: 'mono' }, short(i.sigKey, 24))),
        field('KEM key', `${i.kemAlg} `, h('span', { class: 'mono' }, short(i.kemKey, 24))),
        field('registered at', link(`#/block/${i.registered}`, `#${i.registered}`)),
        field('key version', String(i.keyVersion)),
        ...Object.entries(i.meta).map(([k, v]) => field(k, v)),
      ),
    );
  } catch (e) {
    failure(root, e);
  }
}

export async function datasetsView(root: HTMLElement, api: QledgerClient, search: string): Promise<void> {
  const input = h('input', {
    id: 'dataset-search',
    type: 'search',
    placeholder: 'search datasets',
    value: search,
  });
  const form = h(
    'form',
    {
      class: 'inline',
      onsubmit: (e) => {
        e.preventDefault();
        location.hash = `#/datasets/${encodeURIComponent(input.value.trim())}`;
      },
    },
    input,
    h('button', {}, 'Search'),
  );
  const page = await api.call('listDatasets', { query: { limit: '50', ...(search ? { search } : {}) } });
  mount(
    root,
    h('h2', {}, 'Datasets'),
    form,
    page.datasets.length === 0
      ? h('p', {}, 'No datasets yet.')
      : h(
          'table',
          { class: 'list' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['id', 'name', 'owner', 'licence', 'quality', 'verified'].map((t) => h('th', {}, t)),
            ),
          ),
          h(
            'tbody',
            {},
            ...page.datasets.map((d) =>
              h(
                'tr',
                {},
                h('td', {}, link(`#/dataset/${encodeURIComponent(d.id)}`, d.id)),
                h('td', {}, d.name),
                h('td', {}, link(`#/identity/${encodeURIComponent(d.owner)}`, d.owner)),
                h('td', {}, d.licence),
                h('td', {}, `${(d.quality / 10_000).toFixed(1)}%`),
                h('td', {}, d.verified ? `yes (${d.verifications})` : 'no'),
              ),
            ),
          ),
        ),
  );
}

export async function datasetView(root: HTMLElement, api: QledgerClient, id: string): Promise<void> {
  try {
    const d = await api.call('getDataset', { params: { id } });
    mount(
      root,
      h('h2', {}, `Dataset ${d.id}`),
      h(
        'table',
        { class: 'fields' },
        field('name', d.name),
        field('owner', link(`#/identity/${encodeURIComponent(d.owner)}`, d.owner)),
        field('licence', d.licence),
        field('content hash (SHA3-256)', h('span', { class: 'mono' }, d.contentHash)),
        field('quality', `${(d.quality / 10_000).toFixed(1)}%`),
        field('registered at', link(`#/block/${d.registered}`, `#${d.registered}`)),
        field(
          'verified',
          d.verified ? `yes, ${d.verifications} time(s), last by ${d.lastVerifiedBy ?? '?'}` : 'no',
        ),
      ),
    );
  } catch (e) {
    failure(root, e);
  }
}

/** The search box: a height, a transaction id or block hash, an identity name or a dataset. */
export async function resolveSearch(api: QledgerClient, q: string): Promise<string> {
  if (/^\d+$/.test(q)) return `#/block/${q}`;
  if (/^[0-9a-f]{64}$/i.test(q)) {
    const id = q.toLowerCase();
    try {
      await api.tx(id);
      return `#/tx/${id}`;
    } catch {
      return `#/block/${id}`;
    }
  }
  try {
    await api.call('getIdentity', { params: { name: q } });
    return `#/identity/${encodeURIComponent(q)}`;
  } catch {
    return `#/datasets/${encodeURIComponent(q)}`;
  }
}

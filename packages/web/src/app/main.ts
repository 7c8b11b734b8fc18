/**
 * The qledger web app: a hash router over the network view, the explorer and (later) user
 * registration. It talks only to the REST API and its SSE stream, through the typed client.
 */
import { QledgerClient } from '@qledger/core/api';
import { h, mount } from './dom.js';
import {
  blocksView,
  blockView,
  datasetsView,
  datasetView,
  identityView,
  resolveSearch,
  txView,
} from './explorer.js';
import { Live } from './live.js';
import { networkView } from './network.js';

const api = new QledgerClient(location.origin);
const live = new Live(api);
const view = document.getElementById('view')!;
let leave: (() => void) | null = null;

async function route(): Promise<void> {
  leave?.();
  leave = null;
  const [, page = 'network', ...rest] = (location.hash || '#/network').split('/');
  const arg = rest.length > 0 ? decodeURIComponent(rest.join('/')) : '';
  for (const a of document.querySelectorAll('nav a'))
    a.classList.toggle('active', a.getAttribute('href') === `#/${page}`);
  try {
    switch (page) {
      case 'network':
        leave = networkView(view, live);
        return;
      case 'explorer':
        return await blocksView(view, api, arg || undefined);
      case 'block':
        return await blockView(view, api, arg);
      case 'tx':
        return await txView(view, api, arg);
      case 'identity':
        return await identityView(view, api, arg);
      case 'datasets':
        return await datasetsView(view, api, arg);
      case 'dataset':
        return await datasetView(view, api, arg);
      case 'register':
        mount(
          view,
          h('h2', {}, 'Register'),
          h(
            'p',
            {},
            'User registration with post-quantum keys and secure channels comes in a later release. ',
            'Until then, register identities with signed identity.register transactions (docs/api.md).',
          ),
        );
        return;
      default:
        mount(view, h('p', { class: 'error' }, `no page ${page}`));
    }
  } catch (e) {
    mount(view, h('p', { class: 'error' }, (e as Error).message));
  }
}

const search = document.getElementById('search') as HTMLFormElement;
search.addEventListener('submit', async (e) => {
  e.preventDefault();
  const q = (search.elements.namedItem('q') as HTMLInputElement).value.trim();
  if (q) location.hash = await resolveSearch(api, q);
});
window.addEventListener('hashchange', () => void route());
live.start();
void route();

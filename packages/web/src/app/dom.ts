/**
 * A few lines of DOM building. Text always goes in as text nodes (never innerHTML), so data
 * from the chain (names, metadata) cannot inject markup.
 */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;

function apply(el: Element, attrs: Attrs | undefined, children: Child[]): void {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs, children);
  return el;
}

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs?: Attrs,
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  apply(el, attrs, children);
  return el;
}

export function mount(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  apply(parent, undefined, children);
}

/** 1234 → "1.2 k", with a unit. */
export function si(n: number, unit = ''): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(1)} G${unit}`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(1)} M${unit}`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(1)} k${unit}`;
  return `${Math.round(n * 10) / 10} ${unit}`.trim();
}

export const short = (hex: string, n = 10) => (hex.length > n + 2 ? `${hex.slice(0, n)}…` : hex);

export function link(href: string, text: string): HTMLAnchorElement {
  return h('a', { href }, text);
}

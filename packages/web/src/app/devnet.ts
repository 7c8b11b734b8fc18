/** The devnet's own endpoints (`qledger devnet` serves them beside the app): the QKD network as the KMEs see it, and the controls. */
import type { NodeStatus } from './types.js';

export interface DevnetLink {
  id: string;
  a: string;
  b: string;
  profile: string;
  lengthKm: number;
  eavesdrop: number;
  cut: boolean;
  alarm: boolean;
  qber: number;
  skrBps: number;
  poolBits: Record<string, number>;
  producedBits: number;
  usedBits: number;
  relayBits: number;
}

export interface DevnetNetwork {
  validators: { name: string; site: string; api: string; up: boolean; status: NodeStatus | null }[];
  sites: { id: string; saes: string[] }[];
  links: DevnetLink[];
}

export async function network(): Promise<DevnetNetwork> {
  const r = await fetch('/devnet/network', { signal: AbortSignal.timeout(5000) });
  if (!r.ok) throw new Error(`devnet network: HTTP ${r.status}`);
  return (await r.json()) as DevnetNetwork;
}

/** Set a link's eavesdropper fraction or cut it; resolves to an error message or null. */
export async function control(
  id: string,
  token: string,
  c: { eavesdrop?: number; cut?: boolean },
): Promise<string | null> {
  const r = await fetch(`/devnet/links/${encodeURIComponent(id)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(c),
  });
  if (r.ok) return null;
  const b = (await r.json().catch(() => ({}))) as { code?: string; message?: string };
  return `${b.code ?? r.status}: ${b.message ?? 'failed'}`;
}

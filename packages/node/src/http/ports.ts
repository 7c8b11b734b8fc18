/**
 * Free TCP ports on the loopback interface, for processes that must be told their ports in
 * advance (the devnet's validators, test KMEs).
 *
 * Two races are closed here. All `n` listeners stay open until every port is known, so one
 * call never hands out the same port twice (the kernel did: a devnet's API port once equalled
 * another validator's peer port). And the ports come from below the kernel's ephemeral range
 * (`ip_local_port_range`), which is where the local ends of outgoing connections come from:
 * a port freed by `listen(0)` lies inside that range, and a validator starting in parallel
 * once took it for a connection to its KME, so another validator's API could not listen.
 * A program outside qledger could still take a port before its use; callers start their
 * children promptly, and a child that cannot listen exits with the reason.
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** The kernel's ephemeral port range (Linux; the IANA range elsewhere). */
export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi) && lo! > 0 && hi! >= lo!) return [lo!, hi!];
  } catch {
    // not Linux
  }
  return [49152, 65535];
}

function listen(port: number, host: string): Promise<Server | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen({ port, host, exclusive: true }, () => resolve(s));
  });
}

export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const [lo] = ephemeralRange();
    const floor = 10_000;
    if (lo - floor >= 4 * n) {
      // Walk the range below the ephemeral one from a random point, skipping ports in use.
      const span = lo - floor;
      const start = randomInt(span);
      for (let k = 0; k < span && servers.length < n; k++) {
        const s = await listen(floor + ((start + k) % span), host);
        if (s) servers.push(s);
      }
    }
    while (servers.length < n) {
      const s = await listen(0, host);
      if (!s) throw new Error(`cannot listen on ${host}`);
      servers.push(s);
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

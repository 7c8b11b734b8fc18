/**
 * Free TCP ports on the loopback interface, for processes that must be told their ports in
 * advance (the devnet's validators, test KMEs). All `n` listeners stay open until every port
 * is known, so the kernel cannot hand out the same port twice in one call (it did: a devnet's
 * API port once equalled another validator's peer port, and that validator never started).
 * A port can still be taken by another program between this call and its use; callers start
 * their children promptly.
 */
import { createServer, type Server } from 'node:net';

export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, host, resolve);
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/**
 * Persistent validator-to-validator connections: mutual TLS with validator certificates
 * from the development (or an operator's) CA, the peer named by its certificate's CN. The
 * validator with the lower index dials, the other listens, so each pair has one connection;
 * the dialer reconnects with capped exponential backoff and jitter.
 *
 * On every new connection the two run a signed ML-KEM-768 exchange (KEM_INIT / KEM_RESP,
 * each half signed with the validator's genesis ML-DSA key over the chain, both names and
 * the other half), which seeds the link's fallback keys, then a fresh link session starts.
 * Consensus frames go through the link's tags (link.ts), in order; transaction gossip and
 * catch-up blocks need none (transactions are signed, decided blocks carry certificates).
 * Backpressure: gossip is dropped (and counted) while a socket has more than 8 MiB queued.
 */
import { randomInt } from 'node:crypto';
import {
  type ConnectionOptions,
  connect,
  createServer,
  type PeerCertificate,
  type Server,
  type TLSSocket,
} from 'node:tls';
import {
  type CryptoBackend,
  concatBytes,
  DOMAIN,
  decode,
  encode,
  type HashSuite,
  labelPrefix,
  QledgerError,
  type SigAlg,
} from '@qledger/core';
import { FRAME, FrameReader, type FrameType, frame } from './frames.js';
import { fallbackSeeds, type LinkAuth, type LinkLog, type MacMemo } from './link.js';

/** The frames that carry a tagged consensus message. */
type TaggedFrame = typeof FRAME.CONSENSUS | typeof FRAME.PROPOSAL;

const HIGH_WATER = 8 * 1024 * 1024;

export interface PeerInfo {
  readonly index: number;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly sigAlg: SigAlg;
  readonly sigKey: Uint8Array;
}

export interface PeerNetworkOptions {
  readonly chainId: string;
  readonly self: { readonly index: number; readonly name: string; readonly sigAlg: SigAlg };
  readonly secretKey: Uint8Array;
  readonly listen: { readonly host: string; readonly port: number };
  readonly peers: readonly PeerInfo[];
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
  readonly crypto: CryptoBackend;
  readonly hashes: HashSuite;
  readonly links: ReadonlyMap<number, LinkAuth>;
  readonly log: LinkLog & { debug(obj: object, msg: string): void };
  /** A consensus message from `from` whose tag checked; `compact` for a PROPOSAL frame (value.ts). */
  readonly onConsensus: (from: number, msg: Uint8Array, compact: boolean) => void;
  /** TXS, SYNC_REQ, SYNC_RESP, TX_WANT and TX_GIVE frames. */
  readonly onFrame: (from: number, type: FrameType, payload: Uint8Array) => void;
  readonly onConnected: (peer: number) => void;
  /** Handshake nonces (the validator's QRNG mix). */
  readonly nonce: (length: number) => Uint8Array;
}

export interface PeerState {
  readonly name: string;
  readonly connected: boolean;
  readonly connects: number;
  readonly droppedGossip: number;
  readonly badFrames: number;
}

class Peer {
  socket: TLSSocket | null = null;
  ready = false;
  connects = 0;
  droppedGossip = 0;
  badFrames = 0;
  backoff = 100;
  sendChain: Promise<void> = Promise.resolve();
  /** Consensus messages in `sendChain` not yet written (later ones queue behind them). */
  queuedSends = 0;
  recvChain: Promise<void> = Promise.resolve();
  kem: { secretKey: Uint8Array; publicKey: Uint8Array; nonce: Uint8Array } | null = null;
  timer: NodeJS.Timeout | undefined;
  constructor(readonly info: PeerInfo) {}
}

export class PeerNetwork {
  readonly #o: PeerNetworkOptions;
  readonly #peers = new Map<number, Peer>();
  #server: Server | null = null;
  #closed = false;
  port = 0;

  constructor(opts: PeerNetworkOptions) {
    this.#o = opts;
    for (const p of opts.peers) this.#peers.set(p.index, new Peer(p));
  }

  async start(): Promise<void> {
    const o = this.#o;
    this.#server = createServer(
      { ca: o.tls.ca, cert: o.tls.cert, key: o.tls.key, requestCert: true, rejectUnauthorized: true },
      (socket) => this.#accepted(socket),
    );
    this.#server.on('tlsClientError', (e) => o.log.debug({ err: e.message }, 'peer TLS handshake failed'));
    await new Promise<void>((resolve, reject) => {
      this.#server!.once('error', reject);
      this.#server!.listen(o.listen.port, o.listen.host, () => resolve());
    });
    this.port = (this.#server.address() as { port: number }).port;
    for (const p of this.#peers.values()) if (p.info.index > o.self.index) this.#dial(p);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#peers.values()) {
      clearTimeout(p.timer);
      p.socket?.destroy();
    }
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }

  states(): PeerState[] {
    return [...this.#peers.values()].map((p) => ({
      name: p.info.name,
      connected: p.ready,
      connects: p.connects,
      droppedGossip: p.droppedGossip,
      badFrames: p.badFrames,
    }));
  }

  isConnected(index: number): boolean {
    return this.#peers.get(index)?.ready ?? false;
  }

  /** sendConsensus to each of `to`, hashing the message for its MACs once, not once per link. */
  broadcastConsensus(to: Iterable<number>, msg: Uint8Array, type: TaggedFrame = FRAME.CONSENSUS): void {
    const memo: MacMemo = {};
    for (const i of to) this.sendConsensus(i, msg, memo, type);
  }

  /** Seal and send a consensus message (dropped when the peer is not connected). */
  sendConsensus(to: number, msg: Uint8Array, memo?: MacMemo, type: TaggedFrame = FRAME.CONSENSUS): void {
    const p = this.#peers.get(to);
    if (!p?.ready) return;
    const link = this.#o.links.get(to)!;
    const socket = p.socket;
    // With key at hand and nothing queued before it, the message leaves now, not in a
    // microtask: the runtime's next action may be a synchronous fsync that would hold it.
    if (p.queuedSends === 0) {
      const env = link.trySeal(msg, memo);
      if (env !== undefined) {
        if (env) socket!.write(frame(type, env));
        return;
      }
    }
    p.queuedSends++;
    p.sendChain = p.sendChain
      .then(async () => {
        if (p.socket !== socket || !p.ready) return;
        const env = await link.seal(msg);
        if (env && p.socket === socket && p.ready) socket!.write(frame(type, env));
      })
      .finally(() => {
        p.queuedSends--;
      });
  }

  /** Send an unauthenticated frame (gossip, sync); gossip is dropped under backpressure. */
  send(to: number, type: FrameType, payload: Uint8Array, droppable = false): boolean {
    const p = this.#peers.get(to);
    if (!p?.ready || !p.socket) return false;
    if (droppable && p.socket.writableLength > HIGH_WATER) {
      p.droppedGossip++;
      return false;
    }
    p.socket.write(frame(type, payload));
    return true;
  }

  /** KEYS frames go out directly (the link calls this while it holds the session). */
  announce(to: number, ids: readonly string[]): void {
    const p = this.#peers.get(to);
    if (p?.socket && p.ready) p.socket.write(frame(FRAME.KEYS, encode([...ids])));
  }

  /** Close the connection to `to` (a broken link session); the dialer reconnects. */
  reset(to: number, why: string): void {
    const p = this.#peers.get(to);
    if (!p?.socket) return;
    this.#o.log.warn({ peer: p.info.name, why }, 'resetting peer connection');
    p.socket.destroy();
  }

  // ---- connections -------------------------------------------------------------------------

  #dial(p: Peer): void {
    if (this.#closed) return;
    const o = this.#o;
    const opts: ConnectionOptions = {
      host: p.info.host,
      port: p.info.port,
      ca: o.tls.ca,
      cert: o.tls.cert,
      key: o.tls.key,
      checkServerIdentity: (_host: string, cert: PeerCertificate) =>
        cert.subject?.CN === p.info.name
          ? undefined
          : new Error(`peer certificate is for ${cert.subject?.CN}, expected ${p.info.name}`),
    };
    if (p.info.host !== '127.0.0.1' && p.info.host !== '::1') opts.servername = p.info.host;
    const socket = connect(opts);
    socket.setNoDelay(true);
    socket.once('secureConnect', () => {
      p.backoff = 100;
      this.#attach(p, socket, true);
    });
    const retry = () => {
      if (p.socket === socket || p.socket === null) this.#detach(p, socket);
      if (this.#closed || p.timer) return;
      const delay = randomInt(p.backoff / 2, p.backoff + 1);
      p.backoff = Math.min(p.backoff * 2, 5000);
      p.timer = setTimeout(() => {
        p.timer = undefined;
        this.#dial(p);
      }, delay);
    };
    socket.once('close', retry);
    socket.once('error', (e) => o.log.debug({ peer: p.info.name, err: e.message }, 'peer connection failed'));
  }

  #accepted(socket: TLSSocket): void {
    const cert = socket.getPeerCertificate();
    const cn = cert?.subject?.CN;
    const p = [...this.#peers.values()].find((x) => x.info.name === cn);
    if (!p || p.info.index > this.#o.self.index) {
      this.#o.log.warn({ cn }, 'refused a peer connection: not a validator that dials this one');
      socket.destroy();
      return;
    }
    // A reconnect replaces the old connection.
    p.socket?.destroy();
    socket.setNoDelay(true);
    socket.once('close', () => this.#detach(p, socket));
    socket.on('error', () => {});
    this.#attach(p, socket, false);
  }

  #attach(p: Peer, socket: TLSSocket, dialer: boolean): void {
    p.socket = socket;
    p.ready = false;
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      let frames: { type: number; payload: Uint8Array }[];
      try {
        frames = reader.push(chunk);
      } catch (e) {
        p.badFrames++;
        this.#o.log.warn({ peer: p.info.name, err: (e as Error).message }, 'bad frame');
        socket.destroy();
        return;
      }
      for (const f of frames) this.#frame(p, socket, f.type, f.payload);
    });
    if (dialer) {
      const kem = this.#o.crypto.kem('ml-kem-768').keygen();
      p.kem = { secretKey: kem.secretKey, publicKey: kem.publicKey, nonce: this.#o.nonce(32) };
      const sig = this.#sign(this.#initPayload(this.#o.self.name, p.info.name, p.kem.publicKey, p.kem.nonce));
      socket.write(frame(FRAME.KEM_INIT, encode([p.kem.publicKey, p.kem.nonce, sig])));
    }
  }

  #detach(p: Peer, socket: TLSSocket): void {
    if (p.socket !== socket) return;
    p.socket = null;
    p.ready = false;
    p.kem?.secretKey.fill(0);
    p.kem = null;
  }

  #initPayload(dialer: string, listener: string, ek: Uint8Array, nonce: Uint8Array): Uint8Array {
    return concatBytes(
      labelPrefix(DOMAIN.LINK_HANDSHAKE),
      encode(['init', this.#o.chainId, dialer, listener, ek, nonce]),
    );
  }

  #respPayload(dialer: string, listener: string, ek: Uint8Array, nonce: Uint8Array, ct: Uint8Array) {
    return concatBytes(
      labelPrefix(DOMAIN.LINK_HANDSHAKE),
      encode(['resp', this.#o.chainId, dialer, listener, this.#o.hashes.sha3_256(ek), nonce, ct]),
    );
  }

  #sign(payload: Uint8Array): Uint8Array {
    return this.#o.crypto.signer(this.#o.self.sigAlg).sign(payload, this.#o.secretKey);
  }

  #verify(p: Peer, payload: Uint8Array, sig: Uint8Array): boolean {
    try {
      return this.#o.crypto.signer(p.info.sigAlg).verify(sig, payload, p.info.sigKey);
    } catch {
      return false;
    }
  }

  #frame(p: Peer, socket: TLSSocket, type: number, payload: Uint8Array): void {
    const o = this.#o;
    const link = o.links.get(p.info.index)!;
    try {
      if (type === FRAME.KEM_INIT && !p.ready && p.info.index < o.self.index) {
        const [ek, nonce, sig] = decode(payload) as [Uint8Array, Uint8Array, Uint8Array];
        if (!(ek instanceof Uint8Array && nonce instanceof Uint8Array && sig instanceof Uint8Array))
          throw new QledgerError('PEER_BAD_HANDSHAKE', 'KEM_INIT is malformed');
        if (!this.#verify(p, this.#initPayload(p.info.name, o.self.name, ek, nonce), sig))
          throw new QledgerError('PEER_BAD_HANDSHAKE', 'KEM_INIT signature does not verify');
        const { cipherText, sharedSecret } = o.crypto.kem('ml-kem-768').encapsulate(ek);
        const rsig = this.#sign(this.#respPayload(p.info.name, o.self.name, ek, nonce, cipherText));
        socket.write(frame(FRAME.KEM_RESP, encode([cipherText, rsig])));
        const seeds = fallbackSeeds(
          o.hashes,
          sharedSecret,
          encode([ek, nonce, cipherText]),
          p.info.name,
          o.self.name,
        );
        sharedSecret.fill(0);
        this.#ready(p, link, seeds.listenerToDialer, seeds.dialerToListener);
        return;
      }
      if (type === FRAME.KEM_RESP && !p.ready && p.kem) {
        const [ct, sig] = decode(payload) as [Uint8Array, Uint8Array];
        if (!(ct instanceof Uint8Array && sig instanceof Uint8Array))
          throw new QledgerError('PEER_BAD_HANDSHAKE', 'KEM_RESP is malformed');
        const { publicKey: ek, nonce } = p.kem;
        if (!this.#verify(p, this.#respPayload(o.self.name, p.info.name, ek, nonce, ct), sig))
          throw new QledgerError('PEER_BAD_HANDSHAKE', 'KEM_RESP signature does not verify');
        const secret = o.crypto.kem('ml-kem-768').decapsulate(ct, p.kem.secretKey);
        p.kem.secretKey.fill(0);
        p.kem = null;
        const seeds = fallbackSeeds(o.hashes, secret, encode([ek, nonce, ct]), o.self.name, p.info.name);
        secret.fill(0);
        this.#ready(p, link, seeds.dialerToListener, seeds.listenerToDialer);
        return;
      }
      if (!p.ready) throw new QledgerError('PEER_BAD_HANDSHAKE', `frame ${type} before the key exchange`);
      switch (type) {
        case FRAME.CONSENSUS:
        case FRAME.PROPOSAL:
          p.recvChain = p.recvChain.then(async () => {
            const msg = await link.open(payload);
            if (msg && p.socket === socket) o.onConsensus(p.info.index, msg, type === FRAME.PROPOSAL);
          });
          return;
        case FRAME.KEYS: {
          const ids = decode(payload);
          if (
            !Array.isArray(ids) ||
            ids.length > 1024 ||
            !ids.every((x) => typeof x === 'string' && x.length <= 64)
          )
            throw new QledgerError('PEER_BAD_FRAME', 'KEYS is malformed');
          link.onKeys(ids as string[]);
          return;
        }
        case FRAME.TXS:
        case FRAME.SYNC_REQ:
        case FRAME.SYNC_RESP:
        case FRAME.TX_WANT:
        case FRAME.TX_GIVE:
          o.onFrame(p.info.index, type, payload);
          return;
        default:
          throw new QledgerError('PEER_BAD_FRAME', `unknown frame type ${type}`);
      }
    } catch (e) {
      p.badFrames++;
      o.log.warn(
        { peer: p.info.name, err: (e as Error).message },
        'peer frame refused; closing the connection',
      );
      socket.destroy();
    }
  }

  #ready(p: Peer, link: LinkAuth, pqOut: Uint8Array, pqIn: Uint8Array): void {
    link.newSession(pqOut, pqIn);
    p.ready = true;
    p.connects++;
    this.#o.log.info({ peer: p.info.name }, 'peer connected');
    this.#o.onConnected(p.info.index);
  }
}

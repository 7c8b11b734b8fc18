/** Bench chains: one validator and `senders` registered ML-DSA-44 identities in genesis. */
import { type KeyPair, nobleBackend, toHex } from '@qledger/core';
import type { createOqsBackend } from '@qledger/node';

type Oqs = Awaited<ReturnType<typeof createOqsBackend>>;

/**
 * Genesis text of chain `bench` with validator v1 and identities `${prefix}0…`, each with its
 * own signing key (returned in order) and one shared ML-KEM-768 key; `meta` per identity.
 */
export function senderGenesis(
  oqs: Oqs,
  senders: number,
  prefix: string,
  meta?: (i: number) => Record<string, string>,
): { genesisText: string; keys: KeyPair[] } {
  const signer = oqs.signer('ml-dsa-44');
  const kem = nobleBackend.kem('ml-kem-768').keygen(new Uint8Array(64).fill(1));
  const keys = Array.from({ length: senders }, () => signer.keygen());
  const genesisText = JSON.stringify({
    chainId: 'bench',
    time: 1_763_856_000_000,
    validators: [{ name: 'v1', sigAlg: 'ml-dsa-44', sigKey: toHex(signer.keygen().publicKey) }],
    identities: keys.map((k, i) => ({
      name: `${prefix}${i}`,
      sigAlg: 'ml-dsa-44',
      sigKey: toHex(k.publicKey),
      kemAlg: 'ml-kem-768',
      kemKey: toHex(kem.publicKey),
      ...(meta ? { meta: meta(i) } : {}),
    })),
  });
  return { genesisText, keys };
}

import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { type DeviceProfile, h2, linkPerformance, PROFILES } from '@qledger/kme';

/** GLLP written out term by term from Lo–Ma–Chen (2005), as a reference for the model. */
function referenceSkr(p: DeviceProfile, L: number, eve: number): { skr: number; qber: number } {
  const etaChannel = 10 ** (-(p.fibreLossDbPerKm * L + p.insertionLossDb) / 10);
  const eta = etaChannel * p.detectorEfficiency;
  const Q = p.darkCountProb + 1 - Math.exp(-eta * p.mu);
  let E = (0.5 * p.darkCountProb + p.misalignment * (1 - Math.exp(-eta * p.mu))) / Q;
  const Y1 = p.darkCountProb + eta;
  let e1 = (0.5 * p.darkCountProb + p.misalignment * eta) / Y1;
  // Intercept-resend on a fraction eve: a quarter of those bits flip, independently.
  E = E * (1 - eve / 4) + (1 - E) * (eve / 4);
  e1 = e1 * (1 - eve / 4) + (1 - e1) * (eve / 4);
  const Q1 = Y1 * p.mu * Math.exp(-p.mu);
  const H = (x: number) => (x <= 0 || x >= 1 ? 0 : -x * Math.log2(x) - (1 - x) * Math.log2(1 - x));
  const R = p.sifting * (Q1 * (1 - H(e1)) - Q * p.ecEfficiency * H(E));
  const clicksPerS = Q * p.repRateHz;
  const deadFactor = 1 / (1 + clicksPerS * p.deadTimeNs * 1e-9);
  const skr = E >= 0.11 || R <= 0 ? 0 : R * p.repRateHz * deadFactor * p.finiteKeyFactor;
  return { skr, qber: E };
}

test('the link model equals the term-by-term GLLP reference on random links', () => {
  const profiles = Object.values(PROFILES);
  for (let i = 0; i < 2000; i++) {
    const p = profiles[randomInt(profiles.length)]!;
    const L = randomInt(0, 200_000) / 1000;
    const eve = randomInt(0, 1001) / 1000;
    const got = linkPerformance(p, L, eve);
    const want = referenceSkr(p, L, eve);
    // Relative 1e-9: the two orderings round differently where 1 − e^(−ημ) is tiny.
    assert.ok(Math.abs(got.qber - want.qber) < 1e-9 * want.qber, `qber ${p.id} ${L} km eve ${eve}`);
    assert.ok(
      Math.abs(got.skrBps - want.skr) <= 1e-6 * Math.max(1, want.skr),
      `skr ${p.id} ${L} km eve ${eve}: ${got.skrBps} vs ${want.skr}`,
    );
  }
});

test('shipped profiles land within 10 % of the published figures', () => {
  const near = (got: number, want: number, what: string) =>
    assert.ok(Math.abs(got - want) / want < 0.1, `${what}: ${got.toFixed(0)} b/s, published ${want}`);
  near(linkPerformance(PROFILES['qnu-armos']!, 0).skrBps, 40_000, 'Armos at 0 km');
  assert.ok(linkPerformance(PROFILES['qnu-armos']!, 100).skrBps > 0, 'Armos reaches 100 km');
  near(linkPerformance(PROFILES['idq-clavis3']!, 50).skrBps, 1_400, 'Clavis3 at 12 dB');
  assert.ok(Math.abs(linkPerformance(PROFILES['idq-clavis3']!, 50).lossDb - 12) < 0.5);
  near(linkPerformance(PROFILES['toshiba-lts']!, 45).skrBps, 300_000, 'Toshiba at 45 km');
  near(linkPerformance(PROFILES['lab-fast']!, 10).skrBps, 14e6, 'lab system at 2 dB');
});

test('key rate falls with distance; an eavesdropper adds about 0.25·p of QBER and trips the alarm', () => {
  for (const p of Object.values(PROFILES)) {
    let last = Number.POSITIVE_INFINITY;
    for (let L = 0; L <= 150; L += 5) {
      const r = linkPerformance(p, L).skrBps;
      assert.ok(r <= last, `${p.id}: rate rises at ${L} km`);
      last = r;
    }
    const clean = linkPerformance(p, 20);
    assert.ok(clean.qber > 0.005 && clean.qber < 0.05, `${p.id} clean QBER ${clean.qber}`);
    assert.equal(clean.alarm, false);
    const full = linkPerformance(p, 20, 1);
    assert.ok(Math.abs(full.qber - clean.qber - 0.25) < 0.03, `${p.id}: full attack QBER ${full.qber}`);
    assert.equal(full.alarm, true);
    assert.equal(full.skrBps, 0);
    const small = linkPerformance(p, 20, 0.1);
    assert.ok(small.qber > clean.qber && small.skrBps < clean.skrBps && !small.alarm);
  }
  assert.equal(h2(0.5), 1);
  assert.equal(h2(0), 0);
  assert.throws(() => linkPerformance(PROFILES['lab-fast']!, -1), RangeError);
  assert.throws(() => linkPerformance(PROFILES['lab-fast']!, 1, 1.5), RangeError);
});

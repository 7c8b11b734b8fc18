/**
 * The physical model of a QKD link: decoy-state BB84 with the GLLP key-rate bound in the
 * asymptotic, infinite-decoy limit (Lo, Ma, Chen, PRL 94, 230504 (2005); parameters after
 * Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005)).
 *
 *   η     = η_Bob · 10^(−(α·L + loss_ins)/10)          overall transmittance
 *   Y₀    dark-count (background) yield per pulse
 *   Q_μ   = Y₀ + 1 − e^(−ημ)                            signal gain
 *   E_μ   = (e₀Y₀ + e_d(1 − e^(−ημ))) / Q_μ             signal QBER (e₀ = ½)
 *   Y₁    = Y₀ + η,  e₁ = (e₀Y₀ + e_d η) / Y₁,  Q₁ = Y₁ μ e^(−μ)
 *   R     = q { −Q_μ f H₂(E_μ) + Q₁ [1 − H₂(e₁)] }       secret bits per pulse
 *   SKR   = R · repetition rate · dead-time factor · finite-key factor
 *
 * An intercept-resend eavesdropper acting on a fraction p of the pulses flips a further
 * quarter of them: the error rates compose as independent flips, e ↦ e + ¼p(1 − 2e), which
 * is "about 0.25·p" and gives 25 % at p = 1 from a clean link. The eavesdropper's
 * information is what privacy amplification removes, so the key rate falls with the QBER
 * and reaches zero near 11 %, where the link also raises its alarm.
 *
 * Pure functions, no I/O: the tests and the docs' key-rate table use the same code.
 */

export interface DeviceProfile {
  readonly id: string;
  readonly description: string;
  /** Source repetition rate, pulses per second. */
  readonly repRateHz: number;
  /** Mean photon number of signal states. */
  readonly mu: number;
  /** Bob's detection efficiency including his optics. */
  readonly detectorEfficiency: number;
  /** Background (dark count) yield per pulse, Y₀. */
  readonly darkCountProb: number;
  /** Optical misalignment error, e_d. */
  readonly misalignment: number;
  /** Error-correction inefficiency, f ≥ 1 (1 = Shannon limit). */
  readonly ecEfficiency: number;
  /** Sifting factor q: ½ for BB84 with random bases, near 1 for efficient (biased) BB84. */
  readonly sifting: number;
  /** Fibre attenuation in dB/km. */
  readonly fibreLossDbPerKm: number;
  /** Fixed insertion loss (connectors, splices) in dB. */
  readonly insertionLossDb: number;
  /** Detector dead time in ns: the click rate saturates at short distances. */
  readonly deadTimeNs: number;
  /**
   * The fraction of the asymptotic rate left after finite-key estimation, authentication and
   * the device's duty cycle (calibration, reset); 1 would be the ideal asymptotic bound.
   */
  readonly finiteKeyFactor: number;
  /** The published figure the profile is tuned to, quoted in the docs. */
  readonly published: string;
}

/**
 * Shipped device profiles. The detector and source figures are plausible for each class of
 * device; they are tuned so that the model lands near the vendor's published key rate
 * (docs/qkd.md prints the table and the comparison; `link.skr_bps` in the kme bench).
 */
export const PROFILES: Readonly<Record<string, DeviceProfile>> = {
  'qnu-armos': {
    id: 'qnu-armos',
    description: 'QNu Labs Armos QNLX-210 class: 1 GHz-scale DV-QKD, up to 100 km',
    repRateHz: 312.5e6,
    mu: 0.5,
    detectorEfficiency: 0.1,
    darkCountProb: 1e-7,
    misalignment: 0.015,
    ecEfficiency: 1.16,
    sifting: 0.5,
    fibreLossDbPerKm: 0.24,
    insertionLossDb: 1,
    deadTimeNs: 1000,
    finiteKeyFactor: 0.21,
    published: 'up to 40 kb/s secret key, reach up to 100 km at 0.24 dB/km',
  },
  'idq-clavis3': {
    id: 'idq-clavis3',
    description: 'ID Quantique Clavis3 class: 500 MHz COW/BB84-type, InGaAs detectors',
    repRateHz: 500e6,
    mu: 0.5,
    detectorEfficiency: 0.07,
    darkCountProb: 4e-6,
    misalignment: 0.02,
    ecEfficiency: 1.2,
    sifting: 0.5,
    fibreLossDbPerKm: 0.24,
    insertionLossDb: 0,
    deadTimeNs: 1000,
    finiteKeyFactor: 0.016,
    published: '1.4 kb/s at 12 dB (about 50 km)',
  },
  'toshiba-lts': {
    id: 'toshiba-lts',
    description: 'Toshiba long-term-stability class: 1 GHz efficient BB84, self-differencing APDs',
    repRateHz: 1e9,
    mu: 0.5,
    detectorEfficiency: 0.2,
    darkCountProb: 5e-7,
    misalignment: 0.02,
    ecEfficiency: 1.1,
    sifting: 0.9,
    fibreLossDbPerKm: 0.22,
    insertionLossDb: 2,
    deadTimeNs: 100,
    finiteKeyFactor: 0.23,
    published: 'about 300 kb/s over 45 km of installed fibre',
  },
  'lab-fast': {
    id: 'lab-fast',
    description: 'laboratory system: 2.5 GHz efficient BB84 with superconducting detectors',
    repRateHz: 2.5e9,
    mu: 0.5,
    detectorEfficiency: 0.6,
    darkCountProb: 1e-8,
    misalignment: 0.01,
    ecEfficiency: 1.1,
    sifting: 0.9,
    fibreLossDbPerKm: 0.2,
    insertionLossDb: 0,
    deadTimeNs: 20,
    finiteKeyFactor: 0.66,
    published: 'up to about 14 Mb/s at 2 dB',
  },
};

export interface LinkPerformance {
  /** Channel loss in dB (fibre plus insertion, not the detector). */
  readonly lossDb: number;
  readonly transmittance: number;
  /** QBER of the signal states, as the devices report it. */
  readonly qber: number;
  /** Estimated single-photon error rate. */
  readonly e1: number;
  /** Secret key rate, bits per second (0 when no key can be distilled). */
  readonly skrBps: number;
  /** QBER at or above the alarm threshold. */
  readonly alarm: boolean;
}

/** Binary entropy, H₂(0) = H₂(1) = 0. */
export function h2(x: number): number {
  if (x <= 0 || x >= 1) return 0;
  return -x * Math.log2(x) - (1 - x) * Math.log2(1 - x);
}

/** Flip a further fraction `extra` of bits, independently of the existing errors. */
const addFlips = (e: number, extra: number) => e + extra * (1 - 2 * e);

export const DEFAULT_ALARM_QBER = 0.11;

export function linkPerformance(
  p: DeviceProfile,
  lengthKm: number,
  eavesdropFraction = 0,
  alarmQber = DEFAULT_ALARM_QBER,
): LinkPerformance {
  if (!(lengthKm >= 0) || !(eavesdropFraction >= 0 && eavesdropFraction <= 1))
    throw new RangeError('lengthKm must be ≥ 0 and the eavesdrop fraction in [0, 1]');
  const lossDb = p.fibreLossDbPerKm * lengthKm + p.insertionLossDb;
  const eta = p.detectorEfficiency * 10 ** (-lossDb / 10);
  const y0 = p.darkCountProb;
  const e0 = 0.5;
  const detected = 1 - Math.exp(-eta * p.mu);
  const qMu = y0 + detected;
  const eve = 0.25 * eavesdropFraction;
  const eMu = addFlips((e0 * y0 + p.misalignment * detected) / qMu, eve);
  const y1 = y0 + eta;
  const e1 = addFlips((e0 * y0 + p.misalignment * eta) / y1, eve);
  const q1 = y1 * p.mu * Math.exp(-p.mu);
  const perPulse = p.sifting * (-qMu * p.ecEfficiency * h2(eMu) + q1 * (1 - h2(e1)));
  // Non-paralysable dead time: of C clicks per second only C / (1 + Cτ) are registered.
  const clicks = qMu * p.repRateHz;
  const registered = 1 / (1 + clicks * p.deadTimeNs * 1e-9);
  const alarm = eMu >= alarmQber;
  const skrBps = alarm || !(perPulse > 0) ? 0 : perPulse * p.repRateHz * registered * p.finiteKeyFactor;
  return { lossDb, transmittance: eta, qber: eMu, e1, skrBps, alarm };
}

// Philox4x32-10 (Salmon et al. 2011) written plainly from the paper, sharing no code with native/: the
// reference the directions (test/native/philox.test.ts) and the rounding words (stochastic-round.ts) are
// checked against; itself checked by Random123's known answers. directionRef: the spec's z(seed, g) in float64.
const M0 = 0xd2511f53,
  M1 = 0xcd9e8d57,
  W0 = 0x9e3779b9,
  W1 = 0xbb67ae85;

/** [hi, lo] of the 64-bit product of two uint32, exactly, with doubles only. */
function mulhilo(a: number, b: number): [number, number] {
  const t = a * (b & 0xffff); // < 2^48, exact
  const u = a * (b >>> 16); // < 2^48, exact; product = u·2^16 + t
  const uHi = Math.floor(u / 65536),
    uLo = u % 65536;
  const rest = uLo * 65536 + t; // < 2^49, exact
  return [(uHi + Math.floor(rest / 2 ** 32)) >>> 0, Math.imul(a, b) >>> 0];
}

export function philoxRef(ctr: number[], key: number[]): number[] {
  let [c0, c1, c2, c3] = ctr as [number, number, number, number];
  let [k0, k1] = key as [number, number];
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** z(seed, g) for g in [g0, g0+n) in float64, plus the pair radius r = sqrt(-2 ln u0) of each. */
export function directionRef(seed: bigint, g0: bigint, n: number): { z: Float64Array; r: Float64Array } {
  const z = new Float64Array(n),
    r = new Float64Array(n);
  const key = [Number(seed & 0xffffffffn), Number(seed >> 32n)];
  for (let i = 0; i < n;) {
    const g = g0 + BigInt(i);
    const b = g >> 2n;
    const x = philoxRef([Number(b & 0xffffffffn), Number(b >> 32n), 0, 0], key);
    const u = x.map((v) => ((v >>> 8) | 1) * 2 ** -24);
    const r01 = Math.sqrt(-2 * Math.log(u[0]!)),
      r23 = Math.sqrt(-2 * Math.log(u[2]!));
    const block = [
      r01 * Math.cos(2 * Math.PI * u[1]!),
      r01 * Math.sin(2 * Math.PI * u[1]!),
      r23 * Math.cos(2 * Math.PI * u[3]!),
      r23 * Math.sin(2 * Math.PI * u[3]!),
    ];
    for (let j = Number(g & 3n); j < 4 && i < n; j++, i++) {
      z[i] = block[j]!;
      r[i] = j < 2 ? r01 : r23;
    }
  }
  return { z, r };
}

// Philox4x32-10 (Salmon et al. 2011) written plainly from the paper, sharing no code with native/: the
// reference the directions (test/native/philox.test.ts) and the rounding words (stochastic-round.ts) are
// checked against; itself checked by Random123's known answers.
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

// defines: OPACUS_ORDERS, DP_ACCOUNTING_ORDERS — the default Rényi orders of the two reference libraries

/** Opacus DEFAULT_ALPHAS: [1 + x/10 for x in 1..99] + [12..63]. */
export const OPACUS_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
]);

/** dp_accounting RdpAccountant default: [1 + x/10 for x in 1..99] + [11..63] + [128, 256, 512, 1024]. */
export const DP_ACCOUNTING_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 53 }, (_, i) => 11 + i),
  128,
  256,
  512,
  1024,
]);

/** TF Privacy compute_dp_sgd_privacy orders. */
export const TF_PRIVACY_ORDERS: readonly number[] = Object.freeze([
  1.25,
  1.5,
  1.75,
  2,
  2.25,
  2.5,
  3,
  3.5,
  4,
  4.5,
  ...Array.from({ length: 59 }, (_, i) => 5 + i),
  128,
  256,
  512,
]);

// defines: the JSON form of an infinite ε. JSON has no Infinity (JSON.stringify
// writes null), and a non-private baseline run (--epsilon inf) has ε = ∞ in its
// plan, budget and report: these files write it as the string "Infinity" and read
// it back as the number, for the fields that can hold it, so a run.json or a
// metrics line never says null (or 0) where ε is unbounded.

/** The fields that may hold ±∞ (ε and its accountants' values; epsilonRdp, a metrics step line's, stayed the string 'Infinity'). */
const INFINITE_FIELDS = new Set(['epsilon', 'epsilonRdp', 'predictedEpsilon', 'pld', 'rdp', 'pure']);

export function infinityReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) && !Number.isNaN(value) ? (value > 0 ? 'Infinity' : '-Infinity') : value;
}

export function infinityReviver(key: string, value: unknown): unknown {
  if (!INFINITE_FIELDS.has(key)) return value;
  return value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : value;
}

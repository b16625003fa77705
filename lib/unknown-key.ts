// defines: unknownKey — the one check that an options object (or a batch) names only fields its reader knows.
// A misspelt name used to be ignored ({ budgett } enforced no budget, { trainabel } trained every tensor, { At }
// evaluated at θ); each caller throws its own coded error naming the field. A field set to undefined is absent.

/** The first field of `o` with a value that `known` does not list (a list, a set, or an object's own keys). */
export function unknownKey(o: object, known: readonly string[] | ReadonlySet<string> | object): string | undefined {
  const has = Array.isArray(known)
    ? (k: string) => known.includes(k)
    : known instanceof Set
      ? (k: string) => known.has(k)
      : (k: string) => Object.hasOwn(known, k);
  return Object.entries(o).find(([k, v]) => v !== undefined && !has(k))?.[0];
}

// defines: accountantNamed — an accountant given by name, with 'prv' (Opacus' name for its privacy random variable
// accountant, the same PLD composition dpzo runs) taken as 'pld'. One place for the alias: calibrateNoise and maxSteps
// refused 'prv' that `dpzo calibrate --accountant prv` took, because the CLI mapped it and the library did not.
import { argumentError } from './errors.js';

/** The names {@link accountantNamed} lists, in the order a refusal names them ('pld' first: the default). */
function expected(allowed: readonly string[]): string {
  const names = allowed.map((a) => (a === 'pld' ? "'pld' (or 'prv')" : `'${a}'`));
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} or ${names.at(-1)!}`;
}

/**
 * The accountant `name` stands for among `allowed`: 'prv' is 'pld' (where 'pld' is allowed), reported as 'pld'.
 * @param field What a refusal names (an option, or a flag such as `--accountant`).
 * @throws PrivacyError `ERR_ARGUMENT` naming `field` for a name not allowed.
 */
export function accountantNamed<T extends string>(name: unknown, allowed: readonly T[], field: string): T {
  const v = name === 'prv' && (allowed as readonly string[]).includes('pld') ? 'pld' : name;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw argumentError(field, name, expected(allowed));
  return v as T;
}

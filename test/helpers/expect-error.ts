// defines: expectRejection, which asserts that an API call returns a promise
// that rejects (not a synchronous throw, not a crash) with an Error carrying
// `code` and a message that names each of `mentions`.
import { expect } from 'vitest';

export async function expectRejection(call: () => unknown, code: string, mentions: string[] = []): Promise<Error & { code?: string }> {
  let result: unknown;
  try {
    result = call();
  } catch (e) {
    const x = e as Error & { code?: string };
    throw new Error(`expected a rejected promise with ${code}, but the call threw synchronously: ${x.code ?? ''} ${x.message}`, { cause: e });
  }
  expect(result, 'the call should return a promise').toBeInstanceOf(Promise);
  let err: unknown;
  try {
    await result;
  } catch (e) {
    err = e;
  }
  expect(err, `expected a rejection with ${code}`).toBeInstanceOf(Error);
  const e = err as Error & { code?: string };
  expect({ code: e.code, message: e.message }).toMatchObject({ code });
  for (const m of mentions) expect(e.message, `message should name ${m}`).toContain(m);
  return e;
}

/** For synchronous APIs (getParameter, …): throws an Error with `code` naming `mentions`. */
export function expectThrow(call: () => unknown, code: string, mentions: string[] = []): void {
  let err: unknown;
  try {
    call();
  } catch (e) {
    err = e;
  }
  expect(err, `expected a throw with ${code}`).toBeInstanceOf(Error);
  const e = err as Error & { code?: string };
  expect({ code: e.code, message: e.message }).toMatchObject({ code });
  for (const m of mentions) expect(e.message, `message should name ${m}`).toContain(m);
}

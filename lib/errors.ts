// The error type of the TypeScript layer: a message plus a stable `code`,
// the same convention as the native core's errors.

export class DpzoError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DpzoError';
    this.code = code;
  }
}

export function isCoded(e: unknown): e is Error & { code: string } {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string';
}

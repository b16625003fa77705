// The project's shared data (../shared beside the checkout, as CI lays it out;
// DPZO_SHARED overrides): the tests that need it skip, saying so, where it is absent.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const SHARED = resolve(process.env.DPZO_SHARED ?? join(root, '..', 'shared'));
/** stories260K: a small trained Llama in the Hugging Face layout (F32, tied, GQA). */
export const STORIES260K = join(SHARED, 'data', 'models', 'stories260K');
export const HAVE_STORIES260K = existsSync(join(STORIES260K, 'model.safetensors'));

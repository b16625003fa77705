// Child process for the kill -9 test: runs (or resumes) a training run from a
// JSON RunConfig and prints the final weights hash as one JSON line.
import { readFileSync } from 'node:fs';

import { parseRunConfig } from '../../lib/dpzo/config.js';
import { prepareRun } from '../../lib/dpzo/session.js';

const [cfgPath, mode] = process.argv.slice(2);
const cfg = parseRunConfig(JSON.parse(readFileSync(cfgPath!, 'utf8')), cfgPath!);
const { model, trainer } = await prepareRun(cfg, { resume: mode === 'resume' });
const report = await trainer.train();
process.stdout.write(JSON.stringify({ steps: report.steps, hash: await model.weightsHash() }) + '\n');
model.dispose();

// `dpzo info`: what a model directory holds, as the API names it.
import type { Command } from 'commander';
import { loadModel } from '../../model/model.js';
import { nativeAddon } from '../../native.js';
import type { Device } from '../../model/types.js';
import { trainablePatterns } from '../../dpzo/config.js';
import { parseDevice, parseThreads, printTable } from '../format.js';
import { parseTrainable } from '../options.js';

export function register(program: Command): void {
  program
    .command('info')
    .description('show a model directory: family, sizes, parameter counts, dtype, bytes, backend')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json + model.safetensors)')
    .option('--device <device>', 'cpu | cuda | cuda:N | auto', parseDevice, 'auto')
    .option('--threads <n>', 'native worker threads (default: one per CPU the process may use)', parseThreads)
    .option('--trainable <patterns>', 'comma-separated name patterns of trainable tensors', parseTrainable)
    .option('--json', 'print one JSON object')
    .action(async (opts: { model: string; device: Device; threads?: number; trainable?: string; json?: boolean }) => {
      const model = await loadModel(opts.model, {
        device: opts.device,
        threads: opts.threads,
        trainable: trainablePatterns(opts.trainable),
      });
      try {
        const c = model.config;
        const mem = model.memory();
        const report = {
          dir: model.dir,
          ...c,
          dtype: model.dtype,
          numParameters: model.numParameters,
          numTrainable: model.numTrainable,
          bytes: mem.hostBytes + mem.deviceBytes,
          backend: model.backend,
          threads: model.threads,
          backendsBuilt: nativeAddon().backends,
          cudaDevices: nativeAddon().cudaDevices?.() ?? 0,
          cudaDeviceList: nativeAddon().cudaDeviceList?.() ?? [],
        };
        if (opts.json) {
          process.stdout.write(JSON.stringify(report) + '\n');
          return;
        }
        printTable([
          ['model', model.dir],
          // Mistral, Qwen2 and Qwen3 checkpoints run in the llama family: the row names the checkpoint's own type too
          ['family', c.configModelType && c.configModelType !== c.modelType ? `${c.modelType} (model_type ${c.configModelType})` : c.modelType],
          ['layers', String(c.numLayers)],
          ['hidden size', String(c.hiddenSize)],
          ['heads (kv)', `${c.numHeads} (${c.numKvHeads})`],
          ['head dim', String(c.headDim)],
          ['intermediate size', String(c.intermediateSize)],
          ['vocabulary', String(c.vocabSize)],
          ['max positions', String(c.maxPositions)],
          ['tied head', String(c.tieWordEmbeddings)],
          ['parameters', model.numParameters.toLocaleString('en-US')],
          ['trainable', model.numTrainable.toLocaleString('en-US')],
          ['dtype', model.dtype],
          ['bytes', report.bytes.toLocaleString('en-US')],
          ['backend', `${model.backend} (${model.threads} threads)`],
          ['backends built', report.backendsBuilt],
          ['CUDA devices', String(report.cudaDevices)],
          ...report.cudaDeviceList.map((d): [string, string] => [`  cuda:${d.index}`, `${d.name}, ${(d.totalBytes / 2 ** 30).toFixed(1)} GiB`]),
        ]);
      } finally {
        model.dispose();
      }
    });
}

// The device of a run (issue 12): the run configuration's `device` field is checked by the same rule as
// loadModel's and the CLI's (isDevice), and loadOptionsOf passes it to the model load — for DP-SGD, whose
// backward pass exists on the CPU only, 'auto' becomes 'cpu' (saying so only when a CUDA device was there to
// pick) and a CUDA device is refused with the field and the reason.
import { afterEach, describe, expect, it } from 'vitest';

import { parseRunConfig } from '../../../lib/dpzo/config.js';
import { loadOptionsOf } from '../../../lib/dpzo/session.js';
import { cpuOnlyDevice } from '../../../lib/model/device.js';

const base = { model: 'm', data: 'd', task: 'tokens', epsilon: 1, delta: 1e-5 } as const;

const warnings: Error[] = [];
const listen = (w: Error) => warnings.push(w);
process.on('warning', listen);
afterEach(() => {
  warnings.length = 0;
});
const nextTick = () => new Promise((r) => setImmediate(r));

describe('the device field of a run configuration', () => {
  it('accepts what loadModel accepts and refuses the rest, naming the source and the field', () => {
    for (const d of ['cpu', 'cuda', 'cuda:0', 'cuda:1023', 'auto']) expect(parseRunConfig({ ...base, device: d }, 'f.json').device).toBe(d);
    for (const d of ['gpu', 'CUDA', 'cuda:01', 'cuda:1024', 'cuda:', 7, null]) {
      expect(() => parseRunConfig({ ...base, device: d }, 'f.json'), String(d)).toThrow(
        /^f\.json: device: must be 'cpu', 'cuda', 'cuda:N' \(N in 0\.\.1023\) or 'auto'$/,
      );
    }
  });

  it('flows to the model load; absent it is the CPU (the behaviour before the field existed)', () => {
    expect(loadOptionsOf(parseRunConfig(base, 'x')).device).toBe('cpu');
    expect(loadOptionsOf(parseRunConfig({ ...base, device: 'cuda:3' }, 'x')).device).toBe('cuda:3');
    expect(loadOptionsOf(parseRunConfig({ ...base, device: 'auto', threads: 2, trainable: 'a, b' }, 'x'))).toEqual({
      device: 'auto',
      threads: 2,
      trainable: ['a', 'b'],
      dtype: undefined,
    });
  });

  it('DP-SGD: a CUDA device is ERR_TRAIN_OPTION naming the device and why', () => {
    for (const d of ['cuda', 'cuda:2']) {
      expect(() => loadOptionsOf(parseRunConfig({ ...base, method: 'dpsgd', device: d }, 'x'))).toThrow(
        expect.objectContaining({
          code: 'ERR_TRAIN_OPTION',
          message: `device '${d}' cannot run method dpsgd: its backward pass exists on the CPU only (use device 'cpu' or 'auto')`,
        }),
      );
    }
  });
});

describe('cpuOnlyDevice', () => {
  it("'auto' is the CPU, with one notice only when a CUDA device was visible", async () => {
    expect(cpuOnlyDevice('auto', 'pretrain', () => 0)).toBe('cpu');
    await nextTick();
    expect(warnings).toEqual([]);
    expect(cpuOnlyDevice('auto', 'pretrain', () => 2)).toBe('cpu');
    expect(cpuOnlyDevice('auto', 'pretrain', () => 2)).toBe('cpu');
    await nextTick();
    expect(warnings.map((w) => [(w as Error & { code?: string }).code, w.message])).toEqual([
      ['DPZO_AUTO_CPU', "device 'auto': pretrain needs the backward pass, which runs on the CPU only; running on the CPU"],
    ]);
  });

  it("'cpu' and absent are the CPU; a malformed value is ERR_ARGUMENT (checkDevice)", () => {
    const never = () => {
      throw new Error('the device count is asked only for auto');
    };
    expect(cpuOnlyDevice('cpu', 'pretrain', never)).toBe('cpu');
    expect(cpuOnlyDevice(undefined, 'pretrain', never)).toBe('cpu');
    expect(() => cpuOnlyDevice('cuda:x', 'pretrain', never)).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
  });
});

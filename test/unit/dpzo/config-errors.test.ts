// parseRunConfig's errors name the reason: a config file's labelWords that is not a JSON array or object of strings (zod's own
// message for the union was "labelWords: Invalid input"), a required field left out, an epsilon of the wrong type.
import { describe, expect, it } from 'vitest';

import { parseRunConfig } from '../../../lib/dpzo/config.js';

/** The fields a config needs besides labelWords. */
const BASE = { model: 'model-dir', data: 'train.jsonl', task: 'classification' };
/** With the budget every run needs. */
const FULL = { ...BASE, epsilon: 8, delta: 1e-5 };

describe('config labelWords', () => {
  for (const labelWords of [' bad, good', [' bad', 3], { 0: ' bad', 1: 7 }, 5]) {
    it(`${JSON.stringify(labelWords)} is refused with the reason, naming the file and field`, () => {
      expect(() => parseRunConfig({ ...FULL, labelWords }, 'cfg.json')).toThrow(
        /^cfg\.json: labelWords: must be a JSON array of strings or an object of strings \(label → word\); the comma-separated form is only the flag's$/,
      );
    });
  }
  it('an array or an object of strings is taken as written', () => {
    expect(parseRunConfig({ ...FULL, labelWords: [' bad', ' good'] }, 'cfg.json').labelWords).toEqual([' bad', ' good']);
    expect(parseRunConfig({ ...FULL, labelWords: { 0: ' bad', 1: ' good' } }, 'cfg.json').labelWords).toEqual({ 0: ' bad', 1: ' good' });
  });
});

describe('config errors name the reason', () => {
  it('a required field left out says so (epsilon said "Invalid input")', () => {
    expect(() => parseRunConfig({ ...BASE, delta: 1e-5 }, 'cfg.json')).toThrow(/^cfg\.json: epsilon: is required \(missing\)$/);
    expect(() => parseRunConfig({ ...BASE, epsilon: 8 }, 'cfg.json')).toThrow(/^cfg\.json: delta: is required \(missing\)$/);
  });
  it("an epsilon that is not a positive number or 'inf' says what it must be", () => {
    for (const epsilon of ['abc', 'infinite', null, [8], true])
      expect(() => parseRunConfig({ ...BASE, epsilon, delta: 1e-5 }, 'cfg.json'), JSON.stringify(epsilon)).toThrow(
        /^cfg\.json: epsilon: must be a positive number or 'inf'$/,
      );
    expect(parseRunConfig({ ...BASE, epsilon: 'inf', delta: 1e-5 }, 'cfg.json').epsilon).toBe(Infinity);
  });
});

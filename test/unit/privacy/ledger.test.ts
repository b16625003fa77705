// The privacy ledger: hash chain, torn-tail detection and repair, budget refusal, and survival of kill -9.
import { spawn } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PldAccountant, PrivacyLedger, RdpAccountant, type ReleaseInput } from '../../../lib/privacy/index.js';

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dpzo-ledger-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const rel = (step: number, sigma = 1): ReleaseInput => ({ step, mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: sigma, clip: 1, directions: 2 });
/** A process's start time as /proc/<pid>/stat gives it (field 22), what a lock records besides the pid. */
const startOf = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};
/** The lock this process writes: its pid and start time. */
const OWN_LOCK = new RegExp(`^${process.pid} ${startOf(process.pid)}\\n$`);
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  );

async function makeLedger(name: string, n: number): Promise<string> {
  const file = path.join(dir, name);
  const l = await PrivacyLedger.open(file, { accountant: 'rdp' });
  for (let i = 0; i < n; i++) await l.append(rel(i));
  await l.close();
  return file;
}

describe('PrivacyLedger basics', () => {
  it('appends hash-chained lines and rebuilds the accountant on load', async () => {
    const file = await makeLedger('basic.jsonl', 5);
    const text = await fsp.readFile(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trim().split('\n')).toHaveLength(6); // header + 5
    const l = await PrivacyLedger.open(file, { readOnly: true });
    expect(l.length).toBe(5);
    expect(l.entries.map((e) => e.step)).toEqual([0, 1, 2, 3, 4]);
    expect(l.entries[0]).toMatchObject({ mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 1, clip: 1, directions: 2 });
    expect(l.entries[1].prevHash).not.toBe(l.entries[0].prevHash);
    const want = new RdpAccountant().step({ kind: 'gaussian', sampleRate: 0.01, noiseMultiplier: 1 }, 5).getEpsilon(1e-5).epsilon;
    const s = l.spent(1e-5);
    expect(s.accountant).toBe('rdp');
    expect(s.epsilon).toBe(want);
    expect(s.pld!.epsilon).toBeLessThanOrEqual(s.rdp!.epsilon);
    await expect(l.append(rel(5))).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    await l.close();
  });

  it('records Laplace releases and reports their pure ε', async () => {
    const file = path.join(dir, 'laplace.jsonl');
    const l = await PrivacyLedger.open(file, { accountant: 'pld' });
    for (let i = 0; i < 3; i++) await l.append({ mechanism: 'laplace', sampleRate: 0.2, laplaceScale: 0.5, clip: 1 });
    const s = l.spent(1e-14);
    expect(s.pure).toBeCloseTo(2.4696449716730733, 12);
    expect(Math.abs(s.epsilon - 2.46964)).toBeLessThan(1e-3);
    await l.close();
  });

  it('rejects malformed releases naming the field, without writing', async () => {
    const file = path.join(dir, 'bad.jsonl');
    const l = await PrivacyLedger.open(file);
    await expect(l.append({ mechanism: 'gaussian', sampleRate: 1.5, noiseMultiplier: 1, clip: 1 })).rejects.toThrow(/sampleRate/);
    await expect(l.append({ mechanism: 'gaussian', sampleRate: 0.1, clip: 1 })).rejects.toThrow(/noiseMultiplier/);
    await expect(l.append({ mechanism: 'laplace', sampleRate: 0.1, clip: 1, noiseMultiplier: 1, laplaceScale: 1 })).rejects.toThrow(/noiseMultiplier/);
    await expect(l.append({ ...rel(0), directions: 0 })).rejects.toThrow(/directions/);
    expect(l.length).toBe(0);
    await l.close();
    expect((await fsp.readFile(file, 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it('allows one writer at a time', async () => {
    const file = path.join(dir, 'lock.jsonl');
    const a = await PrivacyLedger.open(file);
    expect(await codeOf(PrivacyLedger.open(file))).toBe('ERR_LEDGER_LOCKED');
    const r = await PrivacyLedger.open(file, { readOnly: true });
    expect(r.length).toBe(0);
    await a.close();
    await (await PrivacyLedger.open(file)).close();
  });

  it('a lock file still being written (no pid yet) is not taken for a stale one; an old unreadable one is', async () => {
    const file = path.join(dir, 'lock-young.jsonl');
    await (await PrivacyLedger.open(file)).close();
    // what another process's lock looked like between its open and its write: it was deleted and both wrote
    await fsp.writeFile(`${file}.lock`, '');
    expect(await codeOf(PrivacyLedger.open(file))).toBe('ERR_LEDGER_LOCKED');
    expect(await fsp.readFile(`${file}.lock`, 'utf8')).toBe('');
    const old = new Date(Date.now() - 60_000);
    await fsp.utimes(`${file}.lock`, old, old);
    const l = await PrivacyLedger.open(file);
    expect(await fsp.readFile(`${file}.lock`, 'utf8')).toMatch(OWN_LOCK);
    await l.close();
  });

  it("a lock whose pid is now another process's (or this one's: a restart reuses pids) is taken over; one naming the live holder is not", async () => {
    const file = path.join(dir, 'lock-reused.jsonl');
    await (await PrivacyLedger.open(file)).close();
    const ownStart = startOf(process.pid);
    const child = spawn('sleep', ['30']);
    try {
      await new Promise((r) => child.on('spawn', r));
      const other = child.pid!;
      // the trainer killed before a restart had this pid: it now names a live process that started later
      for (const stale of [`${other} 1\n`, `${process.pid} ${Number(ownStart) - 1}\n`]) {
        await fsp.writeFile(`${file}.lock`, stale);
        const l = await PrivacyLedger.open(file);
        expect(await fsp.readFile(`${file}.lock`, 'utf8')).toMatch(OWN_LOCK);
        await l.close();
      }
      // the live holder itself, and a lock without a start time (an older dpzo's), still hold
      for (const live of [`${other} ${startOf(other)}\n`, `${other}\n`]) {
        await fsp.writeFile(`${file}.lock`, live);
        expect(await codeOf(PrivacyLedger.open(file))).toBe('ERR_LEDGER_LOCKED');
      }
      await fsp.rm(`${file}.lock`);
    } finally {
      child.kill();
    }
  });

  it("a dead process's lock is taken over, and the lock is always whole: no temporary files are left", async () => {
    const file = path.join(dir, 'lock-dead.jsonl');
    await (await PrivacyLedger.open(file)).close();
    const child = spawn(process.execPath, ['-e', '']);
    const dead = child.pid!;
    await new Promise((r) => child.on('exit', r));
    await fsp.writeFile(`${file}.lock`, `${dead}\n`);
    const l = await PrivacyLedger.open(file);
    expect(await fsp.readFile(`${file}.lock`, 'utf8')).toMatch(OWN_LOCK);
    expect(await codeOf(PrivacyLedger.open(file))).toBe('ERR_LEDGER_LOCKED');
    await l.close();
    expect((await fsp.readdir(dir)).filter((f) => f.startsWith('lock-dead.jsonl.'))).toEqual([]);
  });

  it("six processes taking over one dead process's lock at once: one writer at a time", { timeout: 60_000 }, async () => {
    // before, each removed the lock it found and created its own, deleting the one another had just made: in 15 of 15
    // rounds of this race (6 processes, started together) two or more of them held the ledger for writing
    const racer = fileURLToPath(new URL('./fixtures/ledger-racer.ts', import.meta.url));
    const file = path.join(dir, 'lock-race.jsonl');
    await (await PrivacyLedger.open(file)).close();
    const child = spawn(process.execPath, ['-e', '']);
    const dead = child.pid!;
    await new Promise((r) => child.on('exit', r));
    for (let round = 0; round < 2; round++) {
      await fsp.writeFile(`${file}.lock`, `${dead}\n`);
      const at = Date.now() + 4000; // after every racer has started (tsx), so they try together
      const outs = await Promise.all(
        Array.from(
          { length: 6 },
          () =>
            new Promise<string>((resolve) => {
              const c = spawn(process.execPath, ['--import', 'tsx', racer, file, String(at)], { stdio: ['ignore', 'pipe', 'inherit'] });
              let out = '';
              c.stdout.on('data', (d: Buffer) => (out += d.toString()));
              c.on('exit', () => resolve(out.trim()));
            }),
        ),
      );
      // one writer at a time: the spans in which racers held the ledger never overlap (a racer that started late
      // may take it after the first let go), and every other racer was told it is locked
      const held = outs.filter((o) => o.startsWith('ok ')).map((o) => o.split(' ').slice(1).map(Number) as [number, number]);
      expect(held.length, outs.join(' | ')).toBeGreaterThanOrEqual(1);
      held.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < held.length; i++) expect(held[i]![0], outs.join(' | ')).toBeGreaterThanOrEqual(held[i - 1]![1]);
      expect(
        outs.filter((o) => !o.startsWith('ok ')).every((o) => o === 'ERR_LEDGER_LOCKED'),
        outs.join(' | '),
      ).toBe(true);
    }
  });
});

describe('PrivacyLedger integrity', () => {
  it('detects a torn last line and repairs only that line on request', async () => {
    const file = await makeLedger('torn.jsonl', 3);
    const good = await fsp.readFile(file, 'utf8');
    await fsp.appendFile(file, '{"type":"release","step":3,"mechan');
    const err = await PrivacyLedger.open(file).catch((e) => e);
    expect(err.code).toBe('ERR_LEDGER_TORN');
    expect(err.message).toMatch(/repairTornTail/);
    // the command that has the flag (dpzo report and eval --run, which print this message too, have none)
    expect(err.message).toMatch(/dpzo account --ledger FILE --repair-torn-tail/);
    expect(await fsp.readFile(file, 'utf8')).toBe(`${good}{"type":"release","step":3,"mechan`); // untouched
    const l = await PrivacyLedger.open(file, { repairTornTail: true });
    expect(l.length).toBe(3);
    expect(await fsp.readFile(file, 'utf8')).toBe(good);
    await l.append(rel(3));
    await l.close();
    expect((await PrivacyLedger.open(file, { readOnly: true })).length).toBe(4);
  });

  it('a complete but unparsable last line is corruption, not a torn tail', async () => {
    const file = await makeLedger('garbage.jsonl', 2);
    await fsp.appendFile(file, 'garbage\n');
    expect(await codeOf(PrivacyLedger.open(file, { repairTornTail: true }))).toBe('ERR_LEDGER_CORRUPT');
  });

  it('detects an edited line, a re-hashed edit, a removed line and (with a recorded head) a removed tail', async () => {
    const file = await makeLedger('chain.jsonl', 4);
    const lines = (await fsp.readFile(file, 'utf8')).trim().split('\n');
    const write = (ls: string[]) => fsp.writeFile(file, `${ls.join('\n')}\n`);
    const head = (await PrivacyLedger.open(file, { readOnly: true })).head;

    await write(lines.map((l, i) => (i === 2 ? l.replace('"noiseMultiplier":1,', '"noiseMultiplier":5,') : l)));
    let err = await PrivacyLedger.open(file, { readOnly: true }).catch((e) => e);
    expect(err.code).toBe('ERR_LEDGER_CORRUPT');
    expect(err.message).toMatch(/line 3 was modified/);

    // an edit whose own hash is recomputed still breaks the next line's prevHash
    const { createHash } = await import('node:crypto');
    const edited = lines[2].replace('"noiseMultiplier":1,', '"noiseMultiplier":5,').replace(/,"hash":"[0-9a-f]{64}"\}$/, '}');
    const resealed = `${edited.slice(0, -1)},"hash":"${createHash('sha256').update(edited).digest('hex')}"}`;
    await write(lines.map((l, i) => (i === 2 ? resealed : l)));
    err = await PrivacyLedger.open(file, { readOnly: true }).catch((e) => e);
    expect(err.code).toBe('ERR_LEDGER_CORRUPT');
    expect(err.message).toMatch(/line 4 does not follow line 3/);

    await write(lines.filter((_, i) => i !== 2));
    expect(await codeOf(PrivacyLedger.open(file, { readOnly: true }))).toBe('ERR_LEDGER_CORRUPT');

    await write(lines.slice(0, -1));
    expect((await PrivacyLedger.open(file, { readOnly: true })).length).toBe(3); // undetectable from the file alone
    err = await PrivacyLedger.open(file, { readOnly: true, expectHead: head }).catch((e) => e);
    expect(err.code).toBe('ERR_LEDGER_CORRUPT');
    expect(err.message).toMatch(/holds 3 releases/);

    await write(lines);
    expect((await PrivacyLedger.open(file, { readOnly: true, expectHead: head })).length).toBe(4);
  });
});

describe('PrivacyLedger budget', () => {
  it('refuses, before writing, the release that would exceed ε(δ), with the ledger accountant', async () => {
    const file = path.join(dir, 'budget.jsonl');
    const budget = { epsilon: 1, delta: 1e-5 };
    const l = await PrivacyLedger.open(file, { budget, accountant: 'rdp' });
    const r = (i: number): ReleaseInput => ({ step: i, mechanism: 'gaussian', sampleRate: 0.1, noiseMultiplier: 1.5, clip: 1 });
    let i = 0;
    while (!l.wouldExceed(r(i))) await l.append(r(i++));
    const before = await fsp.readFile(file, 'utf8');
    const err = await l.append(r(i)).catch((e) => e);
    expect(err.code).toBe('ERR_BUDGET_EXCEEDED');
    expect(err.epsilon).toBeGreaterThan(1);
    expect(await fsp.readFile(file, 'utf8')).toBe(before);
    expect(l.length).toBe(i);
    expect(l.spent().epsilon).toBeLessThanOrEqual(1);
    const acc = new RdpAccountant().step({ kind: 'gaussian', sampleRate: 0.1, noiseMultiplier: 1.5 }, i + 1);
    expect(acc.getEpsilon(1e-5).epsilon).toBeGreaterThan(1);
    await l.close();
    // the budget is stored in the header and enforced on reopen
    const again = await PrivacyLedger.open(file);
    expect(again.budget).toEqual(budget);
    expect(again.wouldExceed(r(i))).toBe(true);
    await again.close();
  });

  it('PLD budget admits more steps than RDP for the same budget', async () => {
    const budget = { epsilon: 1, delta: 1e-5 };
    const count = async (accountant: 'rdp' | 'pld') => {
      const l = await PrivacyLedger.open(path.join(dir, `cmp-${accountant}.jsonl`), { budget, accountant });
      let n = 0;
      while (!l.wouldExceed({ mechanism: 'gaussian', sampleRate: 1, noiseMultiplier: 20, clip: 1 })) {
        await l.append({ mechanism: 'gaussian', sampleRate: 1, noiseMultiplier: 20, clip: 1 });
        n++;
      }
      await l.close();
      return n;
    };
    const rdp = await count('rdp');
    const pld = await count('pld');
    expect(rdp).toBeGreaterThan(0);
    expect(pld).toBeGreaterThan(rdp);
  });
});

describe('PrivacyLedger budget check cost and exactness', () => {
  const g = (sigma: number): ReleaseInput => ({ mechanism: 'gaussian', sampleRate: 0.1, noiseMultiplier: sigma, clip: 1 });
  const mech = (sigma: number) => ({ kind: 'gaussian' as const, sampleRate: 0.1, noiseMultiplier: sigma });

  it('1000 identical appends under a PLD budget compose O(log T) times, not at every step', async () => {
    const l = await PrivacyLedger.open(path.join(dir, 'fast.jsonl'), { accountant: 'pld', budget: { epsilon: 3, delta: 1e-5 } });
    const evaluations = vi.spyOn(PldAccountant.prototype, 'getEpsilon');
    for (let i = 0; i < 1000; i++) await l.append({ mechanism: 'gaussian', sampleRate: 0.01, noiseMultiplier: 1, clip: 1 });
    // counted, not timed (a bound of 5 s failed on a loaded 2-core machine at 8.5 s)
    const calls = evaluations.mock.calls.length;
    evaluations.mockRestore();
    expect(l.length).toBe(1000);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(1000)) + 2); // doubling: O(log T) accountant evaluations
    expect(l.spent().epsilon).toBeLessThanOrEqual(3);
    await l.close();
  });

  it.each(['pld', 'rdp'] as const)('%s: refuses at exactly the step an exhaustive per-step check refuses, across a mechanism change', async (kind) => {
    const budget = { epsilon: 4, delta: 1e-5 };
    const epsilonOf = (k: number) =>
      (kind === 'pld' ? new PldAccountant() : new RdpAccountant()).step(mech(2), 5).step(mech(1), k).getEpsilon(budget.delta).epsilon;
    let first = 1;
    while (epsilonOf(first) <= budget.epsilon) first++; // the first run length of σ = 1 releases over the budget
    expect(first).toBeGreaterThan(5);

    const l = await PrivacyLedger.open(path.join(dir, `exact-${kind}.jsonl`), { accountant: kind, budget });
    for (let i = 0; i < 5; i++) await l.append(g(2));
    let accepted = 0;
    let err: { code?: string; epsilon?: number } | null = null;
    while (accepted < 1000) {
      err = await l.append(g(1)).then(
        () => null,
        (e) => e,
      );
      if (err) break;
      accepted++;
    }
    expect(err?.code).toBe('ERR_BUDGET_EXCEEDED');
    expect(accepted).toBe(first - 1);
    expect(err?.epsilon).toBeCloseTo(epsilonOf(first), 9);
    expect(l.wouldExceed(g(1))).toBe(true);
    // a different mechanism starts a new run: a cheaper release may still fit, decided afresh
    const cheap: ReleaseInput = { mechanism: 'gaussian', sampleRate: 0.001, noiseMultiplier: 50, clip: 1 };
    const fits =
      (kind === 'pld' ? new PldAccountant() : new RdpAccountant())
        .step(mech(2), 5)
        .step(mech(1), first - 1)
        .step({ kind: 'gaussian', sampleRate: 0.001, noiseMultiplier: 50 })
        .getEpsilon(budget.delta).epsilon <= budget.epsilon;
    expect(l.wouldExceed(cheap)).toBe(!fits);
    await l.close();
  });
});

describe('PrivacyLedger under kill -9', () => {
  const writer = fileURLToPath(new URL('./fixtures/ledger-writer.ts', import.meta.url));

  /** Runs the writer, kills it with SIGKILL after `ms` of appending; returns the acknowledged (length, hash) pairs. */
  function runAndKill(file: string, ms: number): Promise<Array<[number, string]>> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', writer, file], { stdio: ['ignore', 'pipe', 'pipe'] });
      const acks: Array<[number, string]> = [];
      let buf = '';
      let stderr = '';
      let timer: NodeJS.Timeout | null = null;
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const [kind, n, h] = line.split(' ');
          if (kind === 'ack') acks.push([Number(n), h]);
          if (kind === 'open' && !timer) timer = setTimeout(() => child.kill('SIGKILL'), ms);
        }
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code}: ${stderr}`));
        else resolve(acks);
      });
    });
  }

  it('reloads consistently after SIGKILL at random points and resumes', async () => {
    const file = path.join(dir, 'killed.jsonl');
    let lastAcked = 0;
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      const acks = await runAndKill(file, 30 + Math.floor(Math.random() * 200));
      const l = await PrivacyLedger.open(file, { readOnly: true });
      // every acknowledged release is there with the acknowledged hash; nothing is torn or out of chain
      for (const [n, h] of acks) expect(l.entries[n - 1].hash).toBe(h);
      const acked = acks.length ? acks[acks.length - 1][0] : lastAcked;
      expect(l.length).toBeGreaterThanOrEqual(acked);
      expect(l.length).toBeLessThanOrEqual(acked + 1); // at most the one in flight when killed
      expect(l.entries.map((e) => e.step)).toEqual(Array.from({ length: l.length }, (_, i) => i));
      expect(l.spent(1e-5).rdp!.epsilon).toBe(
        new RdpAccountant().step({ kind: 'gaussian', sampleRate: 0.01, noiseMultiplier: 1.1 }, l.length).getEpsilon(1e-5).epsilon,
      );
      expect(l.length).toBeGreaterThanOrEqual(lastAcked);
      lastAcked = l.length;
    }
    expect(lastAcked).toBeGreaterThan(0);
  }, 60_000);
});

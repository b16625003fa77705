"""The PyTorch peer of bench/forward.ts: one MeZO-style DP-ZO step on the same
GPT-2-124M shape (12 layers, hidden 768, 12 heads, vocabulary 50257, tied head,
random weights), batch 8 x 64, in PyTorch on the CPU.

The step is MeZO's (Malladi et al. 2023, zo_step/zo_update): regenerate z from a
seed with torch.normal for every parameter and perturb in place (+eps), forward,
(-2 eps), forward, restore (+eps), then regenerate z once more for the update.
Per-example losses come from one batched forward (reduction='none').

  /usr/bin/python3 bench/peer_mezo.py [--threads N] [--reps N] [--layers N] [--dtype f32|bf16]

Prints one JSON line: {"dtype", "threads", "forward_s", "step_s", "gemm_gflops",
"torch"}; the figures are the best of --reps timed runs after one warm-up.
gemm_gflops is this torch's own 512 x 768 x 3072 matmul (the shape of the
forward's MLP) at the same threads and dtype: Debian's python3-torch calls
whatever libblas.so.3 the alternatives system picks, and with the reference BLAS
(no libopenblas0-pthread installed) it runs at a few GFLOP/s, which makes the
peer meaningless; bench/forward.ts prints this rate beside the peer's times.
"""

import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--reps", type=int, default=3)
p.add_argument("--layers", type=int, default=12)
p.add_argument("--dtype", default="f32")
a = p.parse_args()
torch.set_num_threads(a.threads)
dtype = torch.float32 if a.dtype == "f32" else torch.bfloat16

H, HEADS, V, POS, BATCH, SEQ = 768, 12, 50257, 1024, 8, 64
g = torch.Generator().manual_seed(0)


def rand(*shape, std=0.02):
    return (torch.randn(*shape, generator=g) * std).to(dtype)


params = {"wte": rand(V, H), "wpe": rand(POS, H), "lnf_w": torch.ones(H, dtype=dtype), "lnf_b": torch.zeros(H, dtype=dtype)}
for l in range(a.layers):
    params.update(
        {
            f"{l}.ln1_w": torch.ones(H, dtype=dtype),
            f"{l}.ln1_b": torch.zeros(H, dtype=dtype),
            f"{l}.attn_w": rand(H, 3 * H),
            f"{l}.attn_b": torch.zeros(3 * H, dtype=dtype),
            f"{l}.proj_w": rand(H, H),
            f"{l}.proj_b": torch.zeros(H, dtype=dtype),
            f"{l}.ln2_w": torch.ones(H, dtype=dtype),
            f"{l}.ln2_b": torch.zeros(H, dtype=dtype),
            f"{l}.fc_w": rand(H, 4 * H),
            f"{l}.fc_b": torch.zeros(4 * H, dtype=dtype),
            f"{l}.out_w": rand(4 * H, H),
            f"{l}.out_b": torch.zeros(H, dtype=dtype),
        }
    )

x0 = 12345
ids = []
for _ in range(BATCH * SEQ):
    x0 = (x0 * 1103515245 + 12345) % 2**32
    ids.append(x0 % V)
tokens = torch.tensor(ids).view(BATCH, SEQ)
mask = torch.full((SEQ, SEQ), float("-inf")).triu(1).to(dtype)


@torch.no_grad()
def per_example_loss():
    P = params
    x = P["wte"][tokens] + P["wpe"][:SEQ]
    for l in range(a.layers):
        h = F.layer_norm(x, (H,), P[f"{l}.ln1_w"], P[f"{l}.ln1_b"])
        qkv = h @ P[f"{l}.attn_w"] + P[f"{l}.attn_b"]
        q, k, v = qkv.split(H, dim=-1)
        q, k, v = (t.view(BATCH, SEQ, HEADS, H // HEADS).transpose(1, 2) for t in (q, k, v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(H // HEADS) + mask, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(BATCH, SEQ, H)
        x = x + y @ P[f"{l}.proj_w"] + P[f"{l}.proj_b"]
        h = F.layer_norm(x, (H,), P[f"{l}.ln2_w"], P[f"{l}.ln2_b"])
        x = x + F.gelu(h @ P[f"{l}.fc_w"] + P[f"{l}.fc_b"], approximate="tanh") @ P[f"{l}.out_w"] + P[f"{l}.out_b"]
    x = F.layer_norm(x, (H,), P["lnf_w"], P["lnf_b"])
    logits = x[:, :-1] @ P["wte"].T
    nll = F.cross_entropy(logits.float().reshape(-1, V), tokens[:, 1:].reshape(-1), reduction="none")
    return nll.view(BATCH, SEQ - 1).mean(1)


@torch.no_grad()
def perturb(seed, scale):
    gen = torch.Generator().manual_seed(seed)
    for t in params.values():
        z = torch.normal(0, 1, size=t.shape, generator=gen, dtype=t.dtype)
        t.add_(z, alpha=scale)


def step(seed, eps=1e-3, lr=1e-4):
    perturb(seed, eps)
    lp = per_example_loss()
    perturb(seed, -2 * eps)
    lm = per_example_loss()
    perturb(seed, eps)
    gr = ((lp - lm) / (2 * eps)).mean().item()
    perturb(seed, -lr * gr)


def best(fn):
    fn()
    ts = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


seed = [100]


def one_step():
    seed[0] += 1
    step(seed[0])


ga, gb = rand(BATCH * SEQ, H), rand(H, 4 * H)
gemm_s = best(lambda: ga @ gb)

print(
    json.dumps(
        {
            "dtype": a.dtype,
            "threads": a.threads,
            "forward_s": best(per_example_loss),
            "step_s": best(one_step),
            "gemm_gflops": 2 * BATCH * SEQ * H * 4 * H / gemm_s / 1e9,
            "torch": torch.__version__,
        }
    )
)

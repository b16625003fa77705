"""The PyTorch + transformers peer of dpzo's DP-ZO step on the GPU (issue 12, item 5): one MeZO-style step
(Malladi et al. 2023) with DP-ZO's privatisation (Tang et al. 2024) on a random OPT model of the given
shape in BF16: regenerate z with torch.normal from a seed for every parameter and perturb in place
(+eps), per-example losses, (-2 eps), per-example losses, restore (+eps), clip the per-example
projected gradients, add Gaussian noise, regenerate z once more for the update.

  python3 bench/gpu/peer_step.py [--hidden 2048 --layers 24 --heads 32 --ffn 8192 --vocab 50272]
                                 [--batch 16 --seq 128 --reps 10 --warmup 3]
Prints one table: step time (best and median of --reps after --warmup steps) and peak device memory.
"""

import argparse
import time

import torch
import torch.nn.functional as F
from transformers import OPTConfig, OPTForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--hidden", type=int, default=2048)
p.add_argument("--layers", type=int, default=24)
p.add_argument("--heads", type=int, default=32)
p.add_argument("--ffn", type=int, default=8192)
p.add_argument("--vocab", type=int, default=50272)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--reps", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
a = p.parse_args()

cfg = OPTConfig(
    vocab_size=a.vocab,
    hidden_size=a.hidden,
    num_hidden_layers=a.layers,
    num_attention_heads=a.heads,
    ffn_dim=a.ffn,
    word_embed_proj_dim=a.hidden,
    max_position_embeddings=2048,
)
torch.manual_seed(0)
torch.set_default_dtype(torch.bfloat16)
with torch.device("cuda"):  # initialise on the card, in BF16: no 5 GB float32 copy on the host
    model = OPTForCausalLM(cfg).eval()
torch.set_default_dtype(torch.float32)
params = [p for p in model.parameters() if p.requires_grad]
ids = torch.randint(0, a.vocab, (a.batch, a.seq), device="cuda")
eps, lr, clip, sigma = 1e-3, 1e-6, 1.0, 1.0


def perturb(seed, scale):
    torch.manual_seed(seed)
    for p in params:
        z = torch.normal(0, 1, size=p.shape, device=p.device, dtype=p.dtype)
        p.data.add_(z, alpha=scale)


def per_example_loss():
    with torch.no_grad():
        logits = model(ids).logits[:, :-1].float()
        nll = F.cross_entropy(logits.reshape(-1, a.vocab), ids[:, 1:].reshape(-1), reduction="none")
        return nll.view(a.batch, -1).mean(1)


def step(seed):
    perturb(seed, eps)
    lp = per_example_loss()
    perturb(seed, -2 * eps)
    lm = per_example_loss()
    perturb(seed, eps)
    g = ((lp - lm) / (2 * eps)).clamp(-clip, clip)  # one direction: L2 clipping of a scalar
    ghat = (g.sum() + torch.randn((), device="cuda") * sigma * clip) / a.batch
    perturb(seed, -lr * ghat.item())


# several warm-up steps and the best and median of --reps: one warm-up and the best of 3 gave 52-93 ms for
# the same step in different calls on the H200 (first-call cuBLAS and allocator effects)
for w in range(max(1, a.warmup)):
    step(1000 + w)
torch.cuda.synchronize()
torch.cuda.reset_peak_memory_stats()
times = []
for r in range(a.reps):
    t = time.perf_counter()
    step(2 + r)
    torch.cuda.synchronize()
    times.append(time.perf_counter() - t)
best, median = min(times), sorted(times)[len(times) // 2]
n = sum(p.numel() for p in params)
print(f"| {'PyTorch MeZO-style DP-ZO step, OPT shape BF16':<48} | {'value':>12} |")
print(f"| {'parameters':<48} | {n:>12.3g} |")
print(f"| {'step time (best of ' + str(a.reps) + ')':<48} | {best * 1e3:>9.1f} ms |")
print(f"| {'step time (median of ' + str(a.reps) + ')':<48} | {median * 1e3:>9.1f} ms |")
print(f"| {'peak device bytes (torch.cuda.max_memory_allocated)':<48} | {torch.cuda.max_memory_allocated():>12.3g} |")

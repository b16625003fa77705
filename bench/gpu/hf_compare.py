"""transformers vs dpzo on the random checkpoints `dpzo_check gpu-check` wrote (issue 12, item 2).

Each checkpoint directory holds dpzo_losses.json: the packed batch and the per-example losses of the CPU
and of the device backend at theta. transformers loads the same files twice: upcast to float32 (the
arithmetic dpzo uses: stored weights, float32 compute; expected to agree to ~1e-5 relative) and in the
stored dtype (bf16 compute; informational). Loss of a sequence = mean NLL over its positions 1..len-1.

  python3 bench/gpu/hf_compare.py CHECK_DIR      (CHECK_DIR = gpu-check's --dir)
Exit status 1 when a float32 comparison exceeds 1e-4 relative.
"""

import json
import os
import sys

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM

root = sys.argv[1]
device = "cuda" if torch.cuda.is_available() else "cpu"
failures = 0
backend = "no checkpoint found"
print(f"| {'case':<11} | {'transformers':<24} | {'max rel err vs dpzo':>20} | {'limit':>7} |")


def losses(model, tokens, offsets):
    out = []
    with torch.no_grad():
        for s in range(len(offsets) - 1):
            ids = torch.tensor(tokens[offsets[s] : offsets[s + 1]], device=device).unsqueeze(0)
            logits = model(ids).logits[0].float()
            out.append(F.cross_entropy(logits[:-1], ids[0, 1:]).item())
    return out


for case in sorted(os.listdir(root)):
    d = os.path.join(root, case)
    f = os.path.join(d, "dpzo_losses.json")
    if not os.path.exists(f):
        continue
    ref = json.load(open(f))
    dpzo = ref["device_loss"]
    backend = f"dpzo {ref['device']}"
    for label, dtype, limit in (("float32 (upcast)", torch.float32, 1e-4), ("stored dtype", "auto", None)):
        model = AutoModelForCausalLM.from_pretrained(d, dtype=dtype).to(device).eval()
        hf = losses(model, ref["tokens"], ref["offsets"])
        err = max(abs(a - b) / abs(b) for a, b in zip(hf, dpzo))
        ok = limit is None or err <= limit
        failures += not ok
        lim = f"{limit:.0e}" if limit else "info"
        print(f"| {case:<11} | {label:<24} | {err:>20.3g} | {lim:>7} |{'' if ok else ' FAIL'}")
        del model
print(f"hf-compare (transformers vs {backend}): {failures} failed")
sys.exit(1 if failures else 0)

#!/usr/bin/env python3
"""A second, independent reference: the three families in vectorised numpy
(float64), written in the matrix style of transformers' modeling code, used to
cross-check test/reference/forward-f64.ts (see crosscheck.ts).
Usage: crosscheck_numpy.py MODEL_DIR ID,ID,... -> JSON list of logit rows."""
import json
import os
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        raw = buf[8 + n + a : 8 + n + b]
        if e["dtype"] == "F32":
            v = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif e["dtype"] == "F16":
            v = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif e["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            v = u.view(np.float32).astype(np.float64)
        else:
            raise ValueError(e["dtype"])
        out[name] = v.reshape(e["shape"])
    return out


def load(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    idx = os.path.join(d, "model.safetensors.index.json")
    w = {}
    if os.path.exists(idx):
        for f in sorted(set(json.load(open(idx))["weight_map"].values())):
            w.update(read_safetensors(os.path.join(d, f)))
    else:
        w = read_safetensors(os.path.join(d, "model.safetensors"))
    return cfg, w


def ln(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def rms(x, g, eps):
    return g * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))


def attend(q, k, v, nh, nkv, d):
    # q (T, nh*d), k/v (T, nkv*d) -> (T, nh*d), causal, repeat_kv for GQA
    T = q.shape[0]
    q = q.reshape(T, nh, d).transpose(1, 0, 2)
    k = np.repeat(k.reshape(T, nkv, d).transpose(1, 0, 2), nh // nkv, axis=0)
    v = np.repeat(v.reshape(T, nkv, d).transpose(1, 0, 2), nh // nkv, axis=0)
    s = q @ k.transpose(0, 2, 1) / np.sqrt(d)
    s = s + np.triu(np.full((T, T), -np.inf), 1)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return (p @ v).transpose(1, 0, 2).reshape(T, nh * d)


def gpt2(cfg, w, ids):
    g = lambda n: w.get("transformer." + n, w.get(n))
    H, nh, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    T = len(ids)
    x = g("wte.weight")[ids] + g("wpe.weight")[:T]
    for l in range(L):
        p = f"h.{l}."
        a = ln(x, g(p + "ln_1.weight"), g(p + "ln_1.bias"), eps) @ g(p + "attn.c_attn.weight") + g(p + "attn.c_attn.bias")
        q, k, v = np.split(a, 3, axis=-1)
        x = x + attend(q, k, v, nh, nh, H // nh) @ g(p + "attn.c_proj.weight") + g(p + "attn.c_proj.bias")
        m = ln(x, g(p + "ln_2.weight"), g(p + "ln_2.bias"), eps) @ g(p + "mlp.c_fc.weight") + g(p + "mlp.c_fc.bias")
        m = 0.5 * m * (1 + np.tanh(np.sqrt(2 / np.pi) * (m + 0.044715 * m**3)))
        x = x + m @ g(p + "mlp.c_proj.weight") + g(p + "mlp.c_proj.bias")
    x = ln(x, g("ln_f.weight"), g("ln_f.bias"), eps)
    head = g("wte.weight") if cfg.get("tie_word_embeddings", True) else w["lm_head.weight"]
    return x @ head.T


def opt(cfg, w, ids):
    g = lambda n: w["model.decoder." + n]
    H, nh, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    pre = cfg.get("do_layer_norm_before", True)
    T = len(ids)
    x = g("embed_tokens.weight")[ids]
    if "model.decoder.project_in.weight" in w:
        x = x @ g("project_in.weight").T
    x = x + g("embed_positions.weight")[2 : T + 2]
    lin = lambda x, p: x @ g(p + ".weight").T + g(p + ".bias")
    for l in range(L):
        p = f"layers.{l}."
        lnA = lambda y: ln(y, g(p + "self_attn_layer_norm.weight"), g(p + "self_attn_layer_norm.bias"), 1e-5)
        lnF = lambda y: ln(y, g(p + "final_layer_norm.weight"), g(p + "final_layer_norm.bias"), 1e-5)
        r = x
        h = lnA(x) if pre else x
        h = attend(lin(h, p + "self_attn.q_proj"), lin(h, p + "self_attn.k_proj"), lin(h, p + "self_attn.v_proj"), nh, nh, H // nh)
        x = r + lin(h, p + "self_attn.out_proj")
        if not pre:
            x = lnA(x)
        r = x
        h = lnF(x) if pre else x
        h = lin(np.maximum(lin(h, p + "fc1"), 0), p + "fc2")
        x = r + h
        if not pre:
            x = lnF(x)
    if pre:
        x = ln(x, g("final_layer_norm.weight"), g("final_layer_norm.bias"), 1e-5)
    if "model.decoder.project_out.weight" in w:
        x = x @ g("project_out.weight").T
    head = g("embed_tokens.weight") if cfg.get("tie_word_embeddings", True) else w["lm_head.weight"]
    return x @ head.T


def llama(cfg, w, ids):
    H, nh, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    nkv = cfg.get("num_key_value_heads", nh)
    d = cfg.get("head_dim") or (128 if cfg["model_type"] == "qwen3" and "head_dim" not in cfg else H // nh)
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    T = len(ids)
    inv = 1.0 / theta ** (np.arange(0, d, 2) / d)
    freqs = np.outer(np.arange(T), inv)
    emb = np.concatenate([freqs, freqs], -1)
    cos, sin = np.cos(emb), np.sin(emb)

    def rope(x, heads):
        x = x.reshape(T, heads, d)
        rot = np.concatenate([-x[..., d // 2 :], x[..., : d // 2]], -1)
        return (x * cos[:, None, :] + rot * sin[:, None, :]).reshape(T, heads * d)

    # LlamaConfig: attention_bias switches the q/k/v/o biases, mlp_bias the MLP's (a bias it switches off is unused)
    def lin(x, n):
        y = x @ w[n + ".weight"].T
        if cfg["model_type"] == "qwen2":  # Qwen2: bias on q/k/v only, whatever the config says
            on = n.endswith(("q_proj", "k_proj", "v_proj"))
        elif cfg["model_type"] == "qwen3":  # Qwen3: attention_bias on q/k/v/o, no MLP bias
            on = cfg.get("attention_bias") and ".self_attn." in n
        else:
            on = cfg.get("attention_bias") if ".self_attn." in n else cfg.get("mlp_bias")
        return y + w[n + ".bias"] if on and n + ".bias" in w else y

    x = w["model.embed_tokens.weight"][ids]
    for l in range(L):
        p = f"model.layers.{l}."
        h = rms(x, w[p + "input_layernorm.weight"], eps)
        q, k = lin(h, p + "self_attn.q_proj"), lin(h, p + "self_attn.k_proj")
        if cfg["model_type"] == "qwen3":  # Qwen3: RMSNorm over each head's d values, before RoPE
            q = rms(q.reshape(T, nh, d), w[p + "self_attn.q_norm.weight"], eps).reshape(T, nh * d)
            k = rms(k.reshape(T, nkv, d), w[p + "self_attn.k_norm.weight"], eps).reshape(T, nkv * d)
        q, k = rope(q, nh), rope(k, nkv)
        v = lin(h, p + "self_attn.v_proj")
        x = x + lin(attend(q, k, v, nh, nkv, d), p + "self_attn.o_proj")
        h = rms(x, w[p + "post_attention_layernorm.weight"], eps)
        gt = lin(h, p + "mlp.gate_proj")
        x = x + lin(gt / (1 + np.exp(-gt)) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return x @ head.T


if __name__ == "__main__":
    cfg, w = load(sys.argv[1])
    ids = [int(t) for t in sys.argv[2].split(",")]
    fam = {"gpt2": gpt2, "opt": opt, "llama": llama, "qwen2": llama, "qwen3": llama}[cfg["model_type"]]
    print(json.dumps(fam(cfg, w, ids).tolist()))

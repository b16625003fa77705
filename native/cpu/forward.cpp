// defines: cpu::per_example_loss, logits_at, generate_greedy (cpu/forward_state.h),
// which the CPU backend runs: batch validation, the ForwardState arena, family
// dispatch, gathering the rows that reach the head, and the shared graph helpers.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "cpu/forward_state.h"
#include "cpu/loss.h"
#include "cpu/norms.h"
#include "dpzo/batch_check.h"
#include "dpzo/errors.h"
#include "dpzo/forward.h"

namespace dpzo {

int64_t ForwardState::bytes() const {
  auto f = [](const std::vector<float>& v) { return static_cast<int64_t>(v.capacity() * sizeof(float)); };
  int64_t n = ws.bytes() + f(x) + f(h) + f(qkv) + f(att) + f(mlp) + f(mlp2) + f(rows) + f(rows_out) +
              static_cast<int64_t>(pos.capacity() * sizeof(int32_t)) + rope.bytes() + loss.bytes();
  for (const auto& s : scores) n += f(s);
  return n + kv.bytes();
}

void KvCache::reset(int64_t layers, int64_t context, int64_t kv_dim) {
  len = 0;
  cap = 0;
  limit = context;
  dim = kv_dim;
  k.assign(layers, {});
  v.assign(layers, {});
}

bool KvCache::ensure(int64_t positions) {
  if (positions <= cap) return false;
  if (positions > limit) throw Error(err::kSequenceLength, "KV cache: more positions than the context");
  cap = std::min(limit, std::max(positions, 2 * cap));
  for (auto* side : {&k, &v})
    for (auto& rows : *side) rows.resize(static_cast<size_t>(cap * dim));
  return true;
}

int64_t KvCache::bytes() const {
  int64_t n = 0;
  for (const auto& x : k) n += static_cast<int64_t>(x.capacity());
  for (const auto& x : v) n += static_cast<int64_t>(x.capacity());
  return n * static_cast<int64_t>(sizeof(float));
}

void ForwardState::account() {
  const int64_t now = bytes();
  if (mem && now > tracked) mem->alloc(now - tracked);
  if (mem && now < tracked) mem->free(tracked - now);
  tracked = now;
}

ForwardState::~ForwardState() {
  if (mem) mem->free(tracked);
}

namespace cpu {

void attend(ThreadPool& pool, ForwardState& st, int64_t layer, const float* qkv, AttentionShape as,
            const std::vector<int64_t>& offsets, float* out, int64_t ldo, const CancelToken* cancel) {
  const int64_t n_seq = static_cast<int64_t>(offsets.size()) - 1;
  KvCache& kv = st.kv;
  if (kv.active) {
    // one sequence: its new rows' keys/values go after the cached ones
    const int64_t T = offsets.back(), kvd = as.n_kv_heads * as.head_dim;
    float* kc = kv.k[layer].data();
    float* vc = kv.v[layer].data();
    for (int64_t t = 0; t < T; ++t) {
      std::copy_n(qkv + t * as.ld + as.k_col, kvd, kc + (kv.len + t) * kv.dim);
      std::copy_n(qkv + t * as.ld + as.v_col, kvd, vc + (kv.len + t) * kv.dim);
    }
    as.k_cache = kc;
    as.v_cache = vc;
    as.kv_ld = kv.dim;
    as.q_pos0 = kv.len;
  }
  causal_attention(pool, st.ws, st.scores, qkv, as, offsets.data(), n_seq, out, ldo, cancel);
}

Weight linear_weight(const WeightView& v, WLayout layout) {
  Weight w;
  w.data = v.data;
  w.dtype = v.dtype;
  w.layout = layout;
  w.ld = v.rank == 2 ? v.cols : v.numel;
  return w;
}

Weight bind(const WeightView& v, WLayout layout, const VirtualRows* at, const WeightView* bias) {
  Weight w = linear_weight(v, layout);
  if (!at) return w;
  w.at = at;
  w.g0 = v.global_offset;
  if (bias && bias->present()) w.bias_g0 = bias->global_offset;
  return w;
}

void embed_rows(ThreadPool& pool, const WeightView& w, const int32_t* ids, int64_t T, int64_t add_offset, float* out,
                int64_t dim, bool accumulate, const VirtualRows* at) {
  const char* table = static_cast<const char*>(w.data);
  const DType dt = w.dtype;
  const int es = dtype_size(dt);
  const bool virt = at && w.trainable();
  pool.parallel_for(T, 64, [&](int64_t b, int64_t e, int) {
    std::vector<float> tmp(accumulate ? dim : 0);
    for (int64_t t = b; t < e; ++t) {
      const int64_t r = static_cast<int64_t>(ids[t]) + add_offset;
      const char* row = table + r * dim * es;
      float* dst = accumulate ? tmp.data() : out + t * dim;
      if (virt)
        values_at(row, dt, static_cast<uint64_t>(w.global_offset + r * dim), dim, *at->set, at->point_of(t), dst);
      else
        convert_row(row, dt, dim, dst);
      if (accumulate)
        for (int64_t i = 0; i < dim; ++i) out[t * dim + i] += tmp[i];
    }
  });
}

namespace {
// A whole (small) tensor as float32 at point p, or as stored when frozen.
void tensor_at(const WeightView& v, const VirtualSet& vs, int p, float* out) {
  if (v.trainable())
    values_at(v.data, v.dtype, static_cast<uint64_t>(v.global_offset), v.numel, vs, p, out);
  else
    convert_row(v.data, v.dtype, v.numel, out);
}
bool any_trainable(const WeightView& w, const WeightView* b) {
  return w.trainable() || (b && b->present() && b->trainable());
}
}  // namespace

void layer_norm_at(ThreadPool& pool, ForwardState& st, const VirtualRows* at, int64_t rows, int64_t n, const float* x,
                   int64_t ldx, const WeightView& w, const WeightView& b, double eps, float* out, int64_t ldo) {
  if (!at || !any_trainable(w, &b))
    return layer_norm(pool, rows, n, x, ldx, param(w), param(b), w.dtype, eps, out, ldo);
  grow(st.norm_params, 2 * n);
  float *wf = st.norm_params.data(), *bf = wf + n;
  for (int g = 0; g < at->groups(); ++g) {
    const int64_t r0 = at->bounds[g], r1 = at->bounds[g + 1];
    if (r1 == r0) continue;
    tensor_at(w, *at->set, g, wf);
    if (b.present()) tensor_at(b, *at->set, g, bf);
    layer_norm(pool, r1 - r0, n, x + r0 * ldx, ldx, wf, b.present() ? bf : nullptr, DType::F32, eps, out + r0 * ldo,
               ldo);
  }
}

void rms_norm_at(ThreadPool& pool, ForwardState& st, const VirtualRows* at, int64_t rows, int64_t n, const float* x,
                 int64_t ldx, const WeightView& w, double eps, float* out, int64_t ldo, int64_t heads) {
  if (!at || !w.trainable()) return rms_norm(pool, rows, n, x, ldx, param(w), w.dtype, eps, out, ldo, heads);
  grow(st.norm_params, n);
  for (int g = 0; g < at->groups(); ++g) {
    const int64_t r0 = at->bounds[g], r1 = at->bounds[g + 1];
    if (r1 == r0) continue;
    tensor_at(w, *at->set, g, st.norm_params.data());
    rms_norm(pool, r1 - r0, n, x + r0 * ldx, ldx, st.norm_params.data(), DType::F32, eps, out + r0 * ldo, ldo, heads);
  }
}

namespace {

// Runs the family's trunk over the packed tokens: st.x (T, H).
void run_trunk(Model& m, ForwardState& st, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
               const CancelToken* cancel) {
  const int64_t n_seq = static_cast<int64_t>(offsets.size()) - 1;
  grow(st.pos, T);
  for (int64_t s = 0; s < n_seq; ++s)
    for (int64_t t = offsets[s]; t < offsets[s + 1]; ++t)
      st.pos[t] = static_cast<int32_t>(t - offsets[s] + (st.kv.active ? st.kv.len : 0));
  switch (m.config().family) {
    case Family::GPT2:
      trunk_gpt2(m, st, ids, T, offsets, cancel);
      break;
    case Family::OPT:
      trunk_opt(m, st, ids, T, offsets, cancel);
      break;
    case Family::LLAMA:
      trunk_llama(m, st, ids, T, offsets, cancel);
      break;
  }
  if (st.kv.active) st.kv.len += T;
  if (cancel) cancel->check();
}

// Final norm (+ OPT project_out) of gathered trunk rows st.rows (R, H) → st.rows_out (R, E).
void run_final(Model& m, ForwardState& st, int64_t R) {
  grow(st.rows_out, R * std::max(m.config().hidden_size, m.config().word_embed_proj_dim));
  switch (m.config().family) {
    case Family::GPT2:
      final_gpt2(m, st, st.rows.data(), R, st.rows_out.data());
      break;
    case Family::OPT:
      final_opt(m, st, st.rows.data(), R, st.rows_out.data());
      break;
    case Family::LLAMA:
      final_llama(m, st, st.rows.data(), R, st.rows_out.data());
      break;
  }
}

// The head as the rows reaching it read it (at st's points during a virtual forward).
Weight head_weight(const Model& m, const ForwardState& st) {
  return bind(m.weights().lm_head, WLayout::OutIn, st.head_at());
}

// The batch repeated once per point: point p's sequences are sequences p·n_seq .. (p+1)·n_seq − 1.
PackedBatch replicate(const PackedBatch& b, int G) {
  PackedBatch r;
  const int64_t T = static_cast<int64_t>(b.tokens.size());
  r.offsets.push_back(0);
  for (int p = 0; p < G; ++p) {
    r.tokens.insert(r.tokens.end(), b.tokens.begin(), b.tokens.end());
    r.labels.insert(r.labels.end(), b.labels.begin(), b.labels.end());
    for (size_t s = 1; s < b.offsets.size(); ++s) r.offsets.push_back(p * T + b.offsets[s]);
  }
  r.candidates = b.candidates;
  return r;
}

// Rows [0, n·G) split into G equal contiguous groups.
VirtualRows equal_groups(const VirtualSet* vs, int64_t n) {
  VirtualRows r;
  r.set = vs;
  for (int p = 0; p <= vs->size(); ++p) r.bounds.push_back(p * n);
  return r;
}

// Reports the arena's size to the model on every exit, cancellation included.
struct AccountOnExit {
  ForwardState& st;
  ~AccountOnExit() { st.account(); }
};

// Copies trunk rows `which` of st.x into st.rows and applies the final norm.
void gather_final(Model& m, ForwardState& st, const std::vector<int64_t>& which) {
  const int64_t H = m.config().hidden_size, R = static_cast<int64_t>(which.size());
  grow(st.rows, R * H);
  for (int64_t r = 0; r < R; ++r) std::copy_n(st.x.data() + which[r] * H, H, st.rows.data() + r * H);
  run_final(m, st, R);
}

}  // namespace

namespace {

// The loss of a validated batch at st's points (replicated per point) or at θ. With all_rows the head also
// runs on the rows that predict no target (computed, then left out of every sum).
LossOutput loss_of(Model& m, ForwardState& st, const PackedBatch& b, bool all_rows, const CancelToken* cancel) {
  AccountOnExit account{st};
  const int64_t T = static_cast<int64_t>(b.tokens.size());
  const int64_t n_seq = static_cast<int64_t>(b.offsets.size()) - 1;
  const int64_t K = static_cast<int64_t>(b.candidates.size());
  // rows that predict a target: hidden row t-1 predicts label t (Hugging Face shift)
  std::vector<int64_t> rows;
  std::vector<int32_t> labels, seq_of;  // seq_of = -1: a row computed for the cost only
  for (int64_t s = 0; s < n_seq; ++s)
    for (int64_t t = b.offsets[s] + 1; t < b.offsets[s + 1]; ++t) {
      const int32_t l = b.labels.empty() ? b.tokens[t] : b.labels[t];
      if (l == -100 && !all_rows) continue;
      rows.push_back(t - 1);
      labels.push_back(l != -100 ? l : (K > 0 ? b.candidates[0] : 0));
      seq_of.push_back(l != -100 ? static_cast<int32_t>(s) : -1);
    }
  const int64_t R = static_cast<int64_t>(rows.size());
  if (st.points) st.head_rows = equal_groups(st.points, R / st.points->size());

  run_trunk(m, st, b.tokens.data(), T, b.offsets, cancel);
  gather_final(m, st, rows);
  const int64_t E = m.config().word_embed_proj_dim;
  const Weight head = head_weight(m, st);
  std::vector<double> nll(R);
  std::vector<float> cand_logits;
  if (K == 0) {
    fused_nll(m.pool(), st.ws, st.loss, st.rows_out.data(), R, E, head, m.config().vocab_size, labels.data(),
              nll.data(), cancel);
  } else {
    std::vector<int32_t> idx(R);
    for (int64_t r = 0; r < R; ++r)
      idx[r] =
          static_cast<int32_t>(std::find(b.candidates.begin(), b.candidates.end(), labels[r]) - b.candidates.begin());
    cand_logits.resize(R * K);
    candidate_nll(m.pool(), st.ws, st.rows_out.data(), R, E, head, b.candidates.data(), K, idx.data(), nll.data(),
                  cand_logits.data(), cancel);
  }

  LossOutput out;
  out.loss.assign(n_seq, 0.0);
  out.targets.assign(n_seq, 0);
  for (int64_t r = 0; r < R; ++r) {  // row order = position order: a fixed summation order per sequence
    if (seq_of[r] < 0) continue;
    out.loss[seq_of[r]] += nll[r];
    out.targets[seq_of[r]] += 1;
  }
  for (int64_t s = 0; s < n_seq; ++s)
    out.loss[s] = out.targets[s] > 0 ? out.loss[s] / out.targets[s] : std::numeric_limits<double>::quiet_NaN();
  if (K > 0) {
    out.candidate_logits.assign(n_seq * K, std::numeric_limits<float>::quiet_NaN());
    for (int64_t r = 0; r < R; ++r)  // the last target row of each sequence wins
      if (seq_of[r] >= 0) std::copy_n(cand_logits.data() + r * K, K, out.candidate_logits.data() + seq_of[r] * K);
  }
  return out;
}

}  // namespace

std::vector<LossOutput> per_example_loss(Model& m, ForwardState& st, const PackedBatch& b, const ForwardOptions& opts,
                                         const CancelToken* cancel) {
  validate_loss_batch(m, b);
  if (opts.points.empty()) return {loss_of(m, st, b, opts.all_rows, cancel)};
  const VirtualSet vs = make_virtual_set(opts.points);
  const int G = vs.size();
  const PackedBatch all = replicate(b, G);
  struct Clear {
    ForwardState& st;
    ~Clear() { st.points = nullptr; }
  } clear{st};
  st.points = &vs;
  st.token_rows = equal_groups(&vs, static_cast<int64_t>(b.tokens.size()));
  LossOutput whole = loss_of(m, st, all, opts.all_rows, cancel);
  // point p's sequences are p·n_seq .. (p+1)·n_seq − 1 of the replicated batch
  const int64_t n_seq = static_cast<int64_t>(b.offsets.size()) - 1, K = static_cast<int64_t>(b.candidates.size());
  std::vector<LossOutput> out(G);
  for (int p = 0; p < G; ++p) {
    out[p].loss.assign(whole.loss.begin() + p * n_seq, whole.loss.begin() + (p + 1) * n_seq);
    out[p].targets.assign(whole.targets.begin() + p * n_seq, whole.targets.begin() + (p + 1) * n_seq);
    if (K > 0)
      out[p].candidate_logits.assign(whole.candidate_logits.begin() + p * n_seq * K,
                                     whole.candidate_logits.begin() + (p + 1) * n_seq * K);
  }
  return out;
}

std::vector<float> logits_at(Model& m, ForwardState& st, const PackedBatch& b, const std::vector<int64_t>& positions,
                             const CancelToken* cancel) {
  const int64_t T = static_cast<int64_t>(b.tokens.size());
  validate_offsets(b.offsets, T);
  validate_tokens(m, b.tokens.data(), b.offsets);
  validate_positions(positions, T);
  AccountOnExit account{st};
  run_trunk(m, st, b.tokens.data(), T, b.offsets, cancel);
  gather_final(m, st, positions);
  const int64_t R = static_cast<int64_t>(positions.size()), V = m.config().vocab_size;
  std::vector<float> out(R * V);
  head_logits(m.pool(), st.ws, st.rows_out.data(), R, m.config().word_embed_proj_dim, head_weight(m, st), V, out.data(),
              cancel);
  return out;
}

std::vector<int32_t> generate_greedy(Model& m, ForwardState& st, const std::vector<int32_t>& prompt, int n,
                                     int32_t eos_id, const CancelToken* cancel) {
  if (prompt.empty()) throw Error(err::kBatch, "generate: the prompt is empty");
  if (n < 0) throw Error(err::kArgument, "generate: the number of new tokens must be >= 0");
  const ModelConfig& c = m.config();
  const std::vector<int64_t> whole = {0, static_cast<int64_t>(prompt.size())};
  validate_tokens(m, prompt.data(), whole);
  std::vector<int32_t> out;
  if (n == 0) return out;
  AccountOnExit account{st};
  // the cache lives only for this call (training never pays for it); the
  // context never exceeds max positions
  const int64_t context = std::min<int64_t>(c.max_positions, static_cast<int64_t>(prompt.size()) + n);
  st.kv.reset(c.num_layers, context, c.num_kv_heads * c.head_dim);
  struct Off {
    KvCache& kv;
    ~Off() {
      kv.active = false;
      std::vector<std::vector<float>>().swap(kv.k);
      std::vector<std::vector<float>>().swap(kv.v);
    }
  } off{st.kv};
  st.kv.active = true;
  const int64_t V = c.vocab_size, E = c.word_embed_proj_dim;
  std::vector<int32_t> step(prompt);
  std::vector<float> z(V);
  for (int i = 0; i < n; ++i) {
    if (i > 0 && st.kv.len >= context) break;  // context full
    const int64_t T = static_cast<int64_t>(step.size());
    // the peak counts the cache: accounted when it grows (it is freed before the op's own accounting at exit)
    if (st.kv.ensure(st.kv.len + T)) st.account();
    run_trunk(m, st, step.data(), T, {0, T}, cancel);
    gather_final(m, st, {T - 1});
    head_logits(m.pool(), st.ws, st.rows_out.data(), 1, E, head_weight(m, st), V, z.data(), cancel);
    int32_t best = 0;
    for (int64_t v = 1; v < V; ++v)
      if (z[v] > z[best]) best = static_cast<int32_t>(v);
    out.push_back(best);
    if (best == eos_id) break;
    step.assign(1, best);
  }
  return out;
}

}  // namespace cpu
}  // namespace dpzo

// defines: cpu::loss_and_gradient (cpu/backward_state.h) and TrainState's
// accounting: batch validation, family dispatch, gathering the target rows,
// the fused loss's gradient, and scattering it back to the trunk.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "cpu/backward_loss.h"
#include "cpu/backward_state.h"
#include "cpu/forward_state.h"
#include "dpzo/errors.h"

namespace dpzo {

int64_t TrainState::bytes() const {
  auto f = [](const std::vector<float>& v) { return static_cast<int64_t>(v.capacity() * sizeof(float)); };
  int64_t n = ghost_store.bytes() + ws.bytes() + rope.bytes() + loss.bytes() + loss_grad.bytes() +
              static_cast<int64_t>(pos.capacity() * sizeof(int32_t));
  for (const auto& s : scores) n += f(s);
  for (const auto& l : layers)
    n += f(l.x_in) + f(l.qkv) + f(l.att) + f(l.x_mid) + f(l.a1) + f(l.a2) + f(l.x_out) + f(l.qk);
  for (const auto* v : {&x, &rows, &rows_out, &drows_out, &drows, &rows_mid, &dmid, &dx, &dh, &dqkv, &datt, &act, &da1,
                        &da2, &tr, &ns, &tmp, &hn, &dqk})
    n += f(*v);
  return n;
}

void TrainState::account() {
  const int64_t now = bytes();
  if (mem && now > tracked) mem->alloc(now - tracked);
  if (mem && now < tracked) mem->free(tracked - now);
  tracked = now;
}

TrainState::~TrainState() {
  if (mem) mem->free(tracked);
}

namespace cpu {

namespace {

struct Family3 {
  void (*trunk)(Model&, TrainState&, const int32_t*, int64_t, const std::vector<int64_t>&, const CancelToken*);
  void (*final_)(Model&, TrainState&, int64_t);
  void (*back_final)(Model&, TrainState&, int64_t, float*);
  void (*back_trunk)(Model&, TrainState&, const int32_t*, int64_t, const std::vector<int64_t>&, float*,
                     const CancelToken*);
};

Family3 family_graphs(const ModelConfig& c) {
  switch (c.family) {
    case Family::LLAMA:
      return {&train_trunk_llama, &train_final_llama, &back_final_llama, &back_trunk_llama};
    case Family::GPT2:
      return {&train_trunk_gpt2, &train_final_gpt2, &back_final_gpt2, &back_trunk_gpt2};
    case Family::OPT:
      return {&train_trunk_opt, &train_final_opt, &back_final_opt, &back_trunk_opt};
  }
  throw Error(err::kModelType, std::string("lossAndGradient: no backward pass for ") + family_name(c.family));
}

// The arena's size and the gradient buffer reported to the model on every exit.
struct AccountScope {
  TrainState& ts;
  int64_t grad_bytes;
  ~AccountScope() {
    ts.account();
    if (ts.mem) ts.mem->free(grad_bytes);
  }
};

}  // namespace

LossGradient loss_and_gradient(Model& m, TrainState& ts, const PackedBatch& b, const GradientOptions& opts,
                               const CancelToken* cancel) {
  validate_loss_batch(m, b);
  const ModelConfig& c = m.config();
  const Family3 g = family_graphs(c);
  const int64_t T = static_cast<int64_t>(b.tokens.size());
  const int64_t n_seq = static_cast<int64_t>(b.offsets.size()) - 1;
  if (!opts.weights.empty() && static_cast<int64_t>(opts.weights.size()) != n_seq)
    throw Error(err::kArgument, "lossAndGradient: weights has " + std::to_string(opts.weights.size()) +
                                    " entries for " + std::to_string(n_seq) + " sequences");
  for (size_t s = 0; s < opts.weights.size(); ++s)
    if (!std::isfinite(opts.weights[s]))
      throw Error(err::kArgument, "lossAndGradient: weights[" + std::to_string(s) + "] is not finite");

  // rows that predict a target: hidden row t-1 predicts label t (Hugging Face shift), as the forward
  std::vector<int64_t> rows;
  std::vector<int32_t> labels, seq_of;
  for (int64_t s = 0; s < n_seq; ++s)
    for (int64_t t = b.offsets[s] + 1; t < b.offsets[s + 1]; ++t) {
      const int32_t l = b.labels.empty() ? b.tokens[t] : b.labels[t];
      if (l == -100) continue;
      rows.push_back(t - 1);
      labels.push_back(l);
      seq_of.push_back(static_cast<int32_t>(s));
    }
  const int64_t R = static_cast<int64_t>(rows.size());
  // candidate mode: each row's label as an index into the candidates (validated to be among them)
  const int64_t K = static_cast<int64_t>(b.candidates.size());
  std::vector<int32_t> label_idx(K > 0 ? R : 0);
  for (int64_t r = 0; r < static_cast<int64_t>(label_idx.size()); ++r)
    label_idx[r] =
        static_cast<int32_t>(std::find(b.candidates.begin(), b.candidates.end(), labels[r]) - b.candidates.begin());
  LossGradient out;
  out.out.targets.assign(n_seq, 0);
  for (int64_t r = 0; r < R; ++r) out.out.targets[seq_of[r]] += 1;
  int64_t active = 0;
  for (int64_t s = 0; s < n_seq; ++s) active += out.out.targets[s] > 0;
  // coefficient of each row's NLL in L = Σ_s w_s·(mean NLL of s)
  std::vector<float> coef(R);
  for (int64_t r = 0; r < R; ++r) {
    const int s = seq_of[r];
    const double w = opts.weights.empty() ? 1.0 / static_cast<double>(active) : opts.weights[s];
    coef[r] = static_cast<float>(w / out.out.targets[s]);
  }

  // only the norms asked (ts.ghost): no parameter gradient is formed, so no gradient buffer either
  out.grad.assign(ts.ghost ? 0 : m.num_trainable(), 0.f);
  const int64_t grad_bytes = static_cast<int64_t>(out.grad.size() * sizeof(float));
  if (ts.mem) ts.mem->alloc(grad_bytes);
  AccountScope scope{ts, grad_bytes};
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, E = c.word_embed_proj_dim, V = c.vocab_size;
  float* grad = ts.ghost ? nullptr : out.grad.data();

  if (ts.ghost) {
    ts.ghost->tok_off = b.offsets;
    ts.ghost->row_off.assign(n_seq + 1, 0);
    for (int64_t r = 0; r < R; ++r) ts.ghost->row_off[seq_of[r] + 1] += 1;
    for (int64_t s = 0; s < n_seq; ++s) ts.ghost->row_off[s + 1] += ts.ghost->row_off[s];
    ts.ghost->sq.assign(n_seq, 0.0);
    ts.ghost->tied = w.lm_head.data == w.tok_emb.data;
  }
  grow_to(ts.pos, T);
  for (int64_t s = 0; s < n_seq; ++s)
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) ts.pos[t] = static_cast<int32_t>(t - b.offsets[s]);
  g.trunk(m, ts, b.tokens.data(), T, b.offsets, cancel);
  if (cancel) cancel->check();

  grow_to(ts.rows, R * H);
  grow_to(ts.rows_out, R * std::max(H, E));
  grow_to(ts.drows, R * H);
  grow_to(ts.drows_out, R * std::max(H, E));
  for (int64_t r = 0; r < R; ++r) std::copy_n(ts.x.data() + rows[r] * H, H, ts.rows.data() + r * H);
  std::vector<double> nll(R);
  if (R > 0) {
    g.final_(m, ts, R);
    if (K == 0) {
      fused_nll_backward(m.pool(), ts.ws, ts.loss, ts.loss_grad, ts.rows_out.data(), R, E, f32(w.lm_head), V,
                         labels.data(), coef.data(), nll.data(), ts.drows_out.data(), grad_out(ts, w.lm_head, grad),
                         cancel);
      if (ts.ghost)
        ghost_head(m.pool(), ts.ws, *ts.ghost, ts.rows_out.data(), R, E, f32(w.lm_head), V, labels.data(), coef.data(),
                   ts.loss_grad.lse.data(), b.tokens.data(), trainable(w.lm_head), cancel);
    } else {
      // the forward's candidate-set loss (classification by label words): K head rows only
      candidate_nll_backward(m.pool(), ts.ws, ts.loss_grad, ts.rows_out.data(), R, E, f32(w.lm_head),
                             b.candidates.data(), K, label_idx.data(), coef.data(), nll.data(), ts.drows_out.data(),
                             grad_out(ts, w.lm_head, grad), cancel);
      if (ts.ghost)
        ghost_head_candidates(m.pool(), *ts.ghost, ts.rows_out.data(), R, E, ts.loss_grad.cdz.data(),
                              b.candidates.data(), K, b.tokens.data(), trainable(w.lm_head), cancel);
    }
    g.back_final(m, ts, R, grad);
    grow_to(ts.dx, T * H);
    std::fill_n(ts.dx.data(), T * H, 0.f);
    for (int64_t r = 0; r < R; ++r) {
      float* dst = ts.dx.data() + rows[r] * H;
      const float* src = ts.drows.data() + r * H;
      for (int64_t i = 0; i < H; ++i) dst[i] += src[i];
    }
    g.back_trunk(m, ts, b.tokens.data(), T, b.offsets, grad, cancel);
  }

  out.out.loss.assign(n_seq, 0.0);
  for (int64_t r = 0; r < R; ++r) out.out.loss[seq_of[r]] += nll[r];  // position order, as the forward
  for (int64_t s = 0; s < n_seq; ++s)
    out.out.loss[s] =
        out.out.targets[s] > 0 ? out.out.loss[s] / out.out.targets[s] : std::numeric_limits<double>::quiet_NaN();
  return out;
}

}  // namespace cpu
}  // namespace dpzo

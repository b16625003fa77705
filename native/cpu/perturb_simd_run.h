// defines: the run driver of the AVX2 and AVX-512 direction kernels, written once: edge_group, run_with and
// the two entry points behind axpy_run_<isa> and sum_rows_<isa> (cpu/perturb_kernels.h). Included inside an
// anonymous namespace by perturb_avx2.cpp and perturb_avx512.cpp after each defines its struct K of group ops:
//   F, I, Pairs, kLanes, kGroup (= 4·kLanes direction elements, 16·… Philox blocks), zero, load / store
//   (aligned float32), load_group / store_group / store_group_sr (a group in its dtype, rounded to nearest or
//   by rounding words), accumulate<G> (G groups += Σ c_k z_k, × factor) and rounding<G> (the rounding words).
// Needs <algorithm> and cpu/perturb_kernels.h before the namespace.

// Elements [lo, hi) of the run (within one group starting at global 4b) through a float32 staging buffer:
// the partial groups at the run's edges.
template <class K>
void edge_group(void* data, DType dt, uint64_t g, uint64_t b, int64_t lo, int64_t hi, const typename K::Pairs& pairs) {
  alignas(64) float buf[K::kGroup] = {};
  const int64_t off = static_cast<int64_t>(g - 4 * b);  // buf index of run element 0
  for (int64_t i = lo; i < hi; ++i) buf[i + off] = load_elem(data, dt, i);
  typename K::F acc[4];
  for (int m = 0; m < 4; ++m) acc[m] = K::load(buf + K::kLanes * m);
  K::template accumulate<1>(b, pairs, acc);
  for (int m = 0; m < 4; ++m) K::store(buf + K::kLanes * m, acc[m]);
  for (int64_t i = lo; i < hi; ++i) store_elem_sr(data, dt, i, buf[i + off], pairs.round_key, g + i);
}

// One run with the pairs' keys set up: kFresh (float32 only, no rounding, factor 1) starts the sums at +0
// instead of loading the run, which is the bits of adding to a zeroed run without reading it.
template <class K, bool kFresh>
inline void run_with(void* data, DType dt, uint64_t g, int64_t n, const typename K::Pairs& pairs) {
  constexpr int kGroup = K::kGroup;
  using F = typename K::F;
  using I = typename K::I;
  int64_t i = 0;
  // head: up to the first Philox block boundary, plus the rest of that group
  if ((g & 3u) != 0 && n > 0) {
    const uint64_t b = g >> 2;
    const int64_t hi = std::min<int64_t>(n, static_cast<int64_t>(4 * b + kGroup - g));
    if (kFresh) std::fill(static_cast<float*>(data), static_cast<float*>(data) + hi, 0.0f);
    edge_group<K>(data, dt, g, b, 0, hi, pairs);
    i = hi;
  }
  // body: whole groups, g+i a multiple of 4; two at a time (four Philox chains in flight instead of two: the
  // generation is bound by a chain's latency, and perturb-bench ran 1.23-1.33e9 F32 elements/s per thread
  // with one group, 1.61-1.63e9 with two (AVX-512); four groups spill registers and gain nothing)
  for (; i + 2 * kGroup <= n; i += 2 * kGroup) {
    F acc[8];
    if (kFresh) {
      for (int m = 0; m < 8; ++m) acc[m] = K::zero();
    } else {
      K::load_group(elem_ptr(data, dt, i), dt, acc);
      K::load_group(elem_ptr(data, dt, i + kGroup), dt, acc + 4);
    }
    K::template accumulate<2>((g + i) >> 2, pairs, acc);
    if (!kFresh && pairs.round_key) {
      I r[8];
      K::template rounding<2>(pairs.round, (g + i) >> 2, r);
      K::store_group_sr(elem_ptr(data, dt, i), dt, acc, r);
      K::store_group_sr(elem_ptr(data, dt, i + kGroup), dt, acc + 4, r + 4);
    } else {
      K::store_group(elem_ptr(data, dt, i), dt, acc);
      K::store_group(elem_ptr(data, dt, i + kGroup), dt, acc + 4);
    }
  }
  for (; i + kGroup <= n; i += kGroup) {
    void* p = elem_ptr(data, dt, i);
    F acc[4];
    if (kFresh) {
      for (int m = 0; m < 4; ++m) acc[m] = K::zero();
    } else {
      K::load_group(p, dt, acc);
    }
    K::template accumulate<1>((g + i) >> 2, pairs, acc);
    if (!kFresh && pairs.round_key) {
      I r[4];
      K::template rounding<1>(pairs.round, (g + i) >> 2, r);
      K::store_group_sr(p, dt, acc, r);
    } else {
      K::store_group(p, dt, acc);
    }
  }
  if (i < n) {  // tail
    if (kFresh) std::fill(static_cast<float*>(data) + i, static_cast<float*>(data) + n, 0.0f);
    edge_group<K>(data, dt, g, (g + i) >> 2, i, n, pairs);
  }
}

template <class K>
inline void axpy_run(void* data, DType dt, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs,
                     int n_pairs, float factor, const uint64_t* round_key) {
  const typename K::Pairs pairs(seeds, coeffs, n_pairs, factor, dt == DType::F32 ? nullptr : round_key);
  run_with<K, false>(data, dt, g, n, pairs);
}

template <class K>
inline void sum_rows(float* x, int64_t stride, uint64_t g, uint64_t g_stride, int64_t n, int64_t rows,
                     const uint64_t* seeds, const float* coeffs, int n_pairs) {
  const typename K::Pairs pairs(seeds, coeffs, n_pairs, 1.0f, nullptr);
  for (int64_t r = 0; r < rows; ++r) run_with<K, true>(x + r * stride, DType::F32, g + r * g_stride, n, pairs);
}

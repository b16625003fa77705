// defines: the vmath kernels written once in branch-free scalar C++ so that
// each ISA file's compiler flags vectorise them. Included inside an anonymous
// namespace after <cstdint>, <cstring>. Not a public header.

// FP traps are never enabled here; without this GCC keeps the clamps as
// branches (no if-conversion) on AVX2 and the loops stay scalar.
#pragma GCC optimize("no-trapping-math")

// exp(x) by Cody–Waite reduction x = n·ln2 + r and Cephes' degree-6
// polynomial on |r| <= ln2/2 (≈1 ulp); inputs clamped to the finite range.
static inline float vexp(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.7f ? 88.7f : x;
  const float shift = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer
  float n = (x * 1.44269504088896341f + shift) - shift;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * z + r + 1.0f;
  // scale by 2^n in two halves so n = 128 or n = -126..-127 stay finite/normal-safe
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  uint32_t b1 = static_cast<uint32_t>(n1 + 127) << 23, b2 = static_cast<uint32_t>(n2 + 127) << 23;
  float s1, s2;
  memcpy(&s1, &b1, 4);
  memcpy(&s2, &b2, 4);
  return y * s1 * s2;
}

static void gelu_tanh(float* x, int64_t n) {
  // 0.5·x·(1 + tanh(u)) = x / (1 + exp(−2u)): exact identity, no cancellation
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
    x[i] = v / (1.0f + vexp(-2.0f * u));
  }
}

static void silu_mul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + vexp(-g)) * up[i];
  }
}

static void max_sumexp(const float* x, int64_t n, float* max_out, float* sum_out) {
  // 16 fixed lanes then a fixed tree: deterministic and vectorisable without -ffast-math
  constexpr int L = 16;
  float m[L], s[L];
  for (int j = 0; j < L; ++j) m[j] = -3.4028235e38f;
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
  float mx = -3.4028235e38f;
  for (int j = 0; j < L; ++j) mx = m[j] > mx ? m[j] : mx;
  for (int64_t k = i; k < n; ++k) mx = x[k] > mx ? x[k] : mx;
  for (int j = 0; j < L; ++j) s[j] = 0.f;
  for (i = 0; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) s[j] += vexp(x[i + j] - mx);
  float tail = 0.f;
  for (int64_t k = i; k < n; ++k) tail += vexp(x[k] - mx);
  for (int w = L / 2; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) s[j] += s[j + w];
  *max_out = mx;
  *sum_out = s[0] + tail;
}

static void softmax(float* x, int64_t n) {
  float mx, sum;
  max_sumexp(x, n, &mx, &sum);
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] = vexp(x[i] - mx) * inv;
}

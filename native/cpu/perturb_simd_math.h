// defines: log_unit, sincos_turn and box_muller over an ISA's vectors: the lane-wise operation sequence of
// dir_log_unit, dir_sincos_turn and the Box–Muller step of dpzo/philox.h, written once for the AVX2 and
// AVX-512 direction kernels (so their bits equal the scalar kernel's: dpzo_check isa). Included inside an
// anonymous namespace by perturb_avx2.cpp and perturb_avx512.cpp after each defines its struct of lane ops:
//   F, I                 float32 and int32 vectors
//   bcast, ps            broadcasts; as_i / as_f bit casts; cvt int32 → float32
//   iadd isub iand ior ixor shr<n> shl<n>, fadd fmul fmadd fsqrt
//   Mask, odd(q)         the lanes where q & 1; blend(odd, a, b): b in those lanes, a elsewhere
// Needs dpzo/philox.h (the coefficients, dirc) before the namespace.

// dir_log_unit, lane-wise.
template <class V>
inline typename V::F log_unit(typename V::I k) {
  using namespace dirc;
  using I = typename V::I;
  using F = typename V::F;
  I ix = V::isub(V::as_i(V::cvt(k)), V::bcast(24u << 23));
  ix = V::iadd(ix, V::bcast(0x3f800000u - 0x3f3504f3u));
  const I e = V::isub(V::template shr<23>(ix), V::bcast(127));
  const F f = V::fadd(V::as_f(V::iadd(V::iand(ix, V::bcast(0x007fffffu)), V::bcast(0x3f3504f3u))), V::ps(-1.0f));
  const F ef = V::cvt(e);
  F p = V::fmadd(V::ps(kLogP7), f, V::ps(kLogP6));
  p = V::fmadd(p, f, V::ps(kLogP5));
  p = V::fmadd(p, f, V::ps(kLogP4));
  p = V::fmadd(p, f, V::ps(kLogP3));
  p = V::fmadd(p, f, V::ps(kLogP2));
  p = V::fmadd(p, f, V::ps(kLogP1));
  p = V::fmadd(p, f, V::ps(kLogP0));
  const F w = V::fmadd(f, p, V::ps(-0.5f));
  const F y = V::fmul(V::fmul(f, f), w);
  const F lo = V::fmadd(ef, V::ps(kLn2Lo), y);
  const F hi = V::fmadd(ef, V::ps(kLn2Hi), f);
  return V::fadd(hi, lo);
}

// dir_sincos_turn, lane-wise.
template <class V>
inline void sincos_turn(typename V::I k, typename V::F& s_out, typename V::F& c_out) {
  using namespace dirc;
  using I = typename V::I;
  using F = typename V::F;
  const I q = V::template shr<22>(V::iadd(k, V::bcast(1u << 21)));
  const I rk = V::isub(k, V::template shl<22>(q));
  const F r = V::fmul(V::cvt(rk), V::ps(kTwoM24));
  const F x2 = V::fmul(r, r);
  F p = V::fmadd(V::ps(kSin9), x2, V::ps(kSin7));
  p = V::fmadd(p, x2, V::ps(kSin5));
  p = V::fmadd(p, x2, V::ps(kSin3));
  const F ys = V::fmadd(x2, p, V::ps(kTwoPiLo));
  const F s = V::fmadd(r, V::ps(kTwoPiHi), V::fmul(r, ys));
  F pc = V::fmadd(V::ps(kCos10), x2, V::ps(kCos8));
  pc = V::fmadd(pc, x2, V::ps(kCos6));
  pc = V::fmadd(pc, x2, V::ps(kCos4));
  pc = V::fmadd(pc, x2, V::ps(kCos2));
  const F c = V::fmadd(x2, pc, V::ps(1.0f));
  const typename V::Mask odd = V::odd(q);
  I sb = V::as_i(V::blend(odd, s, c));
  I cb = V::as_i(V::blend(odd, c, s));
  sb = V::ixor(sb, V::template shl<30>(V::iand(q, V::bcast(2))));
  cb = V::ixor(cb, V::template shl<30>(V::iand(V::iadd(q, V::bcast(1)), V::bcast(2))));
  s_out = V::as_f(sb);
  c_out = V::as_f(cb);
}

template <class V>
inline void box_muller(typename V::I x0, typename V::I x1, typename V::F& z0, typename V::F& z1) {
  const typename V::I one = V::bcast(1);
  const typename V::F lg = log_unit<V>(V::ior(V::template shr<8>(x0), one));
  const typename V::F r = V::fsqrt(V::fmul(lg, V::ps(-2.0f)));
  typename V::F s, c;
  sincos_turn<V>(V::ior(V::template shr<8>(x1), one), s, c);
  z0 = V::fmul(r, c);
  z1 = V::fmul(r, s);
}

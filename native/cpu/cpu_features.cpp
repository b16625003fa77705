// defines: cpu_features, active_isa, isa_name (see cpu_features.h).
#include "cpu/cpu_features.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "dpzo/errors.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define DPZO_X86 1
#endif

namespace dpzo {

namespace {

#if defined(DPZO_X86)
// XCR0 via xgetbv; inline asm so that this file needs no -mxsave.
unsigned long long read_xcr0() {
  unsigned int lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(DPZO_X86)
  unsigned int a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
  if (!osxsave || !avx) return f;
  const unsigned long long xcr0 = read_xcr0();
  const bool ymm_os = (xcr0 & 0x6) == 0x6;    // XMM + YMM state
  const bool zmm_os = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const bool avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
  f.avx2 = ymm_os && avx2 && fma && f16c;
  f.avx512 = f.avx2 && zmm_os && avx512f && avx512dq && avx512bw && avx512vl;
  f.avx512_vnni = f.avx512 && (c & (1u << 11));
  unsigned int a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  if (f.avx512 && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) f.avx512_bf16 = a1 & (1u << 5);
#endif
  return f;
}

Isa resolve_isa() {
  const CpuFeatures& f = cpu_features();
  Isa best = f.avx512 ? Isa::Avx512 : f.avx2 ? Isa::Avx2 : Isa::Scalar;
  const char* env = std::getenv("DPZO_ISA");
  if (!env || !*env) return best;
  Isa want;
  if (!std::strcmp(env, "scalar"))
    want = Isa::Scalar;
  else if (!std::strcmp(env, "avx2"))
    want = Isa::Avx2;
  else if (!std::strcmp(env, "avx512"))
    want = Isa::Avx512;
  else
    throw Error(err::kArgument, std::string("DPZO_ISA='") + env + "': expected scalar, avx2 or avx512");
  return static_cast<int>(want) < static_cast<int>(best) ? want : best;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

Isa active_isa() {
  static const Isa isa = resolve_isa();  // a throw leaves it unset; the next call throws again
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    default:
      return "scalar";
  }
}

}  // namespace dpzo

// defines: CpuFeatures (what this CPU and OS support, from cpuid/xgetbv),
// Isa (the SIMD level a kernel family may use) and active_isa(), which the
// DPZO_ISA environment variable (scalar|avx2|avx512) can lower for tests.
#pragma once

namespace dpzo {

struct CpuFeatures {
  bool avx2 = false;    // AVX2 + FMA + F16C, with OS support for YMM state
  bool avx512 = false;  // AVX-512 F/BW/VL/DQ, with OS support for ZMM and opmask state
  bool avx512_bf16 = false;
  bool avx512_vnni = false;
};

// Detected once (hardware and OS); never throws.
const CpuFeatures& cpu_features();

enum class Isa : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// The best ISA that is both supported and allowed by DPZO_ISA (read once).
// DPZO_ISA asking for more than the CPU has yields the best supported level;
// an unknown value throws Error(ERR_ARGUMENT) naming DPZO_ISA.
Isa active_isa();
const char* isa_name(Isa isa);  // "scalar" | "avx2" | "avx512"

}  // namespace dpzo

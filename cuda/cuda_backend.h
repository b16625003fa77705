// defines: the host-side API of the CUDA backend (dpzo::cuda), callable from
// plain C++ (no CUDA headers here). Built only when CMake finds nvcc
// (DPZO_HAVE_CUDA); every function throws dpzo::Error(ERR_DEVICE, ...) on a
// CUDA failure, except available(), which never throws.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dpzo/backend.h"
#include "dpzo/perturb.h"

namespace dpzo {
namespace cuda {

// True when the CUDA runtime reports at least one usable device.
bool available() noexcept;
// Number of devices the runtime reports (0 on any error). Never throws.
int device_count() noexcept;
// Name of device 0 ("" when none).
std::string device_name();
// Every device the runtime reports: name and total memory (empty on any error). Never throws.
std::vector<DeviceInfo> device_list() noexcept;
// Makes device `index` current for the calling host thread (cudaSetDevice): every entry point of the
// backend calls it first, since N-API work runs on whichever worker thread is free.
void use_device(int index);

// Plain device memory (for tests, the check driver and the backend).
void* device_alloc(size_t bytes);
void device_free(void* p) noexcept;
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void copy_device_to_device(void* dst, const void* src, size_t bytes);
void synchronize();

// θ[g] ← f·(θ[g] + Σ_k coeffs[k]·z(seeds[k], g)) over segments whose `data` are
// device pointers, f = `decay` on segments marked decay (else no multiply); F16/BF16
// stored to nearest, or stochastically with the rounding words keyed by *round_key
// (dpzo/stochastic_round.h) when it is given. The CPU's semantics and arithmetic
// (dpzo/perturb.h axpy_directions, dpzo/philox.h), the same bits. Returns when the
// kernel has finished.
void axpy_directions(const std::vector<Segment>& segs, const uint64_t* seeds, const float* coeffs, int n_pairs,
                     float decay = 1.0f, const uint64_t* round_key = nullptr);

// The GEMM path of the model loaded last in this process: "tensor (cuBLASLt …)" or "simt (why)"; "" before
// any (cuda/tensor_gemm.h; gpu-check and gpu-bench print it).
std::string last_gemm_path();

// out[i] = z(seed, g0 + i) into device memory.
void fill_direction(uint64_t seed, uint64_t g0, int64_t count, float* out_device);

}  // namespace cuda
}  // namespace dpzo

// defines: the run-time loading of cuBLASLt (dlopen, never a build dependency): the search order, the
// symbol table, and one process-wide loaded library. Plain C++ (no CUDA header), so the search order is
// testable on machines without a GPU (dpzo_check cublaslt-load, test/native/tensor-gemm.test.ts).
#pragma once
#include <string>
#include <vector>

#include "cublaslt_api.h"

namespace dpzo {
namespace cuda {

struct LtLibrary {
  lt::Api api{};
  std::string path;    // the name or path dlopen succeeded with
  size_t version = 0;  // cublasLtGetVersion()
};

// Where to look, in order: `env_path` (DPZO_CUBLASLT) when non-empty, then the sonames of CUDA 13 and 12 and
// the unversioned name through the default dlopen search (LD_LIBRARY_PATH, the cache, RUNPATH).
std::vector<std::string> cublaslt_candidates(const char* env_path);

// Opens the first candidate that loads and has every entry point of lt::Api. Returns false and sets *why
// to one line naming every candidate tried and why it failed; never throws. A library that loaded is never
// closed (the process keeps it).
bool load_cublaslt(const std::vector<std::string>& candidates, LtLibrary* out, std::string* why);

// The process's cuBLASLt, loaded once from cublaslt_candidates(getenv("DPZO_CUBLASLT")); nullptr and *why
// when none loads. Thread-safe.
const LtLibrary* process_cublaslt(std::string* why);

}  // namespace cuda
}  // namespace dpzo

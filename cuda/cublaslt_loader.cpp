// defines: cuda/cublaslt_loader.h — dlopen/dlsym of cuBLASLt. The build links -ldl only; which library is
// used is decided on the machine that runs, so one binary serves machines with and without cuBLAS.
#include "cublaslt_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

namespace dpzo {
namespace cuda {

std::vector<std::string> cublaslt_candidates(const char* env_path) {
  std::vector<std::string> c;
  if (env_path && *env_path) c.emplace_back(env_path);
  for (const char* name : {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"}) c.emplace_back(name);
  return c;
}

namespace {

template <class F>
bool sym(void* lib, const char* name, F* f, std::string* missing) {
  void* p = dlsym(lib, name);
  if (!p) {
    if (missing->empty()) *missing = name;  // the first one names the problem
    return false;
  }
  *f = reinterpret_cast<F>(p);
  return true;
}

bool resolve(void* lib, lt::Api* a, std::string* missing) {
  bool ok = sym(lib, "cublasLtCreate", &a->create, missing);
  ok &= sym(lib, "cublasLtDestroy", &a->destroy, missing);
  ok &= sym(lib, "cublasLtGetVersion", &a->get_version, missing);
  ok &= sym(lib, "cublasLtMatmulDescCreate", &a->desc_create, missing);
  ok &= sym(lib, "cublasLtMatmulDescDestroy", &a->desc_destroy, missing);
  ok &= sym(lib, "cublasLtMatmulDescSetAttribute", &a->desc_set, missing);
  ok &= sym(lib, "cublasLtMatrixLayoutCreate", &a->layout_create, missing);
  ok &= sym(lib, "cublasLtMatrixLayoutDestroy", &a->layout_destroy, missing);
  ok &= sym(lib, "cublasLtMatmulPreferenceCreate", &a->pref_create, missing);
  ok &= sym(lib, "cublasLtMatmulPreferenceDestroy", &a->pref_destroy, missing);
  ok &= sym(lib, "cublasLtMatmulPreferenceSetAttribute", &a->pref_set, missing);
  ok &= sym(lib, "cublasLtMatmulAlgoGetHeuristic", &a->heuristic, missing);
  ok &= sym(lib, "cublasLtMatmul", &a->matmul, missing);
  return ok;
}

}  // namespace

bool load_cublaslt(const std::vector<std::string>& candidates, LtLibrary* out, std::string* why) {
  std::string tried;
  for (const std::string& name : candidates) {
    if (!tried.empty()) tried += "; ";
    void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* e = dlerror();
      tried += e ? std::string(e) : name + ": not loadable";  // dlerror names the file
      continue;
    }
    LtLibrary l;
    std::string missing;
    if (!resolve(lib, &l.api, &missing)) {
      tried += name + ": lacks " + missing;
      dlclose(lib);
      continue;
    }
    l.path = name;
    l.version = l.api.get_version();
    *out = l;
    return true;
  }
  *why = "cuBLASLt could not be loaded (" + tried + ")";
  return false;
}

const LtLibrary* process_cublaslt(std::string* why) {
  static std::once_flag once;
  static LtLibrary lib;
  static bool ok = false;
  static std::string error;
  std::call_once(once, [] { ok = load_cublaslt(cublaslt_candidates(std::getenv("DPZO_CUBLASLT")), &lib, &error); });
  if (!ok && why) *why = error;
  return ok ? &lib : nullptr;
}

}  // namespace cuda
}  // namespace dpzo

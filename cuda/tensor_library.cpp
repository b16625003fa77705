// defines: tensor_library (cuda/tensor_gemm.h) on a GPU build: the process's cuBLASLt (cublaslt_loader.h).
#include "tensor_gemm.h"

namespace dpzo {
namespace cuda {

const LtLibrary* tensor_library(std::string* why) { return process_cublaslt(why); }

}  // namespace cuda
}  // namespace dpzo

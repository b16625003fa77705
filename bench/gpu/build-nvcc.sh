#!/usr/bin/env bash
# Builds dpzo_check with nvcc alone (for a GPU machine without CMake), the flags CMakeLists.txt uses:
# C++17, -O3, no fast math, --fmad=false for device code, the ISA files with their own flags, cudart static.
#   bench/gpu/build-nvcc.sh BUILD_DIR ARCH     (ARCH e.g. 90)
set -euo pipefail
build=$1
arch=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$build/obj"
cd "$root"
common=(-std=c++17 -O3 -DNDEBUG -DDPZO_HAVE_CUDA=1 -Inative/include -Inative -Icuda
  "-gencode=arch=compute_${arch},code=sm_${arch}" --fmad=false -Xcompiler=-fno-strict-aliasing,-Wall)
compile() {
  local src=$1 extra=""
  case "$src" in
    *_avx512.cpp) extra="-Xcompiler=-mavx512f,-mavx512bw,-mavx512vl,-mavx512dq,-mavx2,-mfma,-mf16c" ;;
    *_avx2.cpp) extra="-Xcompiler=-mavx2,-mfma,-mf16c" ;;
  esac
  nvcc "${common[@]}" $extra -c "$src" -o "$build/obj/$(echo "$src" | tr / _).o"
}
ls native/core/*.cpp native/cpu/*.cpp native/tools/*.cpp cuda/*.cu cuda/*.cpp |
  xargs -P "$(nproc)" -I{} bash -c "$(declare -p common); $(declare -f compile); build=$build; compile {}"
nvcc "-gencode=arch=compute_${arch},code=sm_${arch}" --cudart=static "$build"/obj/*.o -o "$build/dpzo_check" -lpthread -ldl
echo "built $build/dpzo_check"

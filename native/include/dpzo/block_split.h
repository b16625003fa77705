// defines: BlockSplit, split_blocks, tile_count, TileRange, tile_range — how a segment of global element
// indices [g0, g0 + count) falls on the Philox blocks of four (block b = elements 4b .. 4b+3, ARCHITECTURE
// §2): the whole blocks inside it, the head elements before them (in block full_begin − 1) and the tail
// elements after them (in block full_end). The CUDA kernels (cuda/philox_perturb.cu, cuda/virtual_point.cu)
// run whole blocks on a fast path (vector loads, one Philox call per block and stream) and the at most
// two partial blocks on a slow path; this header is that arithmetic, shared with the host, so that it is
// tested on the CPU (dpzo_check block-split, cuda/emu) where the kernels cannot run.
#pragma once
#include <cstdint>

#include "dpzo/dtype.h"

namespace dpzo {

struct BlockSplit {
  uint64_t full_begin;  // first block with all four elements inside the segment
  uint64_t full_end;    // one past the last such block; full_begin <= full_end
  int64_t head;         // elements g0 .. g0+head−1, all in block full_begin − 1 (0..3, or count)
  int64_t tail;         // elements 4·full_end .. g0+count−1, all in block full_end (0..3)
};

DPZO_HD BlockSplit split_blocks(uint64_t g0, int64_t count) {
  const uint64_t g1 = g0 + static_cast<uint64_t>(count);
  BlockSplit s;
  s.full_begin = (g0 + 3) >> 2;
  s.full_end = g1 >> 2;
  if (s.full_end < s.full_begin) {  // inside one block, not touching its end: all head
    s.full_end = s.full_begin;
    s.head = count;
    s.tail = 0;
  } else {
    s.head = static_cast<int64_t>(4 * s.full_begin - g0);
    s.tail = static_cast<int64_t>(g1 - 4 * s.full_end);
  }
  return s;
}

// Tiles of up to `tile_blocks` whole blocks each; a segment without whole blocks still has one tile (its
// partial blocks are done by the segment's tile 0).
DPZO_HD int64_t tile_count(const BlockSplit& s, int64_t tile_blocks) {
  const int64_t full = static_cast<int64_t>(s.full_end - s.full_begin);
  return full == 0 ? 1 : (full + tile_blocks - 1) / tile_blocks;
}

// The whole blocks [begin, end) of tile t.
struct TileRange {
  uint64_t begin, end;
};
DPZO_HD TileRange tile_range(const BlockSplit& s, int64_t tile_blocks, int64_t t) {
  uint64_t b = s.full_begin + static_cast<uint64_t>(t * tile_blocks);
  uint64_t e = b + static_cast<uint64_t>(tile_blocks);
  if (b > s.full_end) b = s.full_end;
  if (e > s.full_end) e = s.full_end;
  return {b, e};
}

}  // namespace dpzo

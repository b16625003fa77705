// defines: mode_block_split (block_split_check.h).
#include "tools/block_split_check.h"

#include <cinttypes>
#include <cstdio>
#include <vector>

#include "dpzo/block_split.h"

using namespace dpzo;

namespace {

// Errors of one segment [g0, g0 + count) with tiles of `tile_blocks` whole blocks; prints the first few.
int64_t check_segment(uint64_t g0, int64_t count, int64_t tile_blocks, int64_t& printed) {
  std::vector<int> seen(static_cast<size_t>(count), 0);
  int64_t errors = 0;
  auto fail = [&](const char* what) {
    ++errors;
    if (printed++ < 5)
      std::fprintf(stderr, "block-split: g0 %" PRIu64 " count %" PRId64 " tile %" PRId64 ": %s\n", g0, count,
                   tile_blocks, what);
  };
  // element g met as word `word` of block b: it must be g = 4b + word and inside the segment
  auto cover = [&](uint64_t b, int word, uint64_t g) {
    if (g != 4 * b + static_cast<uint64_t>(word) || (g >> 2) != b || (g & 3) != static_cast<uint64_t>(word))
      fail("element not at its block and word");
    if (g < g0 || g >= g0 + static_cast<uint64_t>(count)) return fail("element outside the segment");
    ++seen[static_cast<size_t>(g - g0)];
  };
  const BlockSplit s = split_blocks(g0, count);
  if (s.full_end < s.full_begin) fail("full_end < full_begin");
  if (s.head < 0 || s.tail < 0 || s.tail > 3 || (s.head > 3 && s.full_end != s.full_begin))
    fail("head or tail out of range");
  if (s.head + s.tail + 4 * static_cast<int64_t>(s.full_end - s.full_begin) != count) fail("sizes do not add up");
  // the head: elements g0 .. g0+head−1 of block full_begin − 1, as the kernels' partial path takes them
  if (s.head > 0)
    for (uint64_t g = g0; g < g0 + static_cast<uint64_t>(s.head); ++g)
      cover(s.full_begin - 1, static_cast<int>(g - 4 * (s.full_begin - 1)), g);
  const int64_t tiles = tile_count(s, tile_blocks);
  if (tiles < 1) fail("no tile");
  uint64_t next = s.full_begin;
  for (int64_t t = 0; t < tiles; ++t) {
    const TileRange r = tile_range(s, tile_blocks, t);
    if (r.begin != next || r.end < r.begin || static_cast<int64_t>(r.end - r.begin) > tile_blocks)
      fail("tiles not consecutive or too large");
    if (r.end == r.begin && !(t == 0 && s.full_end == s.full_begin)) fail("empty tile");
    for (uint64_t b = r.begin; b < r.end; ++b)
      for (int w = 0; w < 4; ++w) cover(b, w, 4 * b + static_cast<uint64_t>(w));
    next = r.end;
  }
  if (next != s.full_end) fail("tiles do not reach full_end");
  if (s.tail > 0)
    for (uint64_t g = 4 * s.full_end; g < 4 * s.full_end + static_cast<uint64_t>(s.tail); ++g)
      cover(s.full_end, static_cast<int>(g - 4 * s.full_end), g);
  for (int v : seen)
    if (v != 1) {
      fail("an element covered other than exactly once");
      break;
    }
  return errors;
}

}  // namespace

int mode_block_split() {
  int64_t cases = 0, errors = 0, printed = 0;
  const uint64_t bases[] = {0, 1ull << 40, (1ull << 62) - 64};
  for (uint64_t base : bases)
    for (uint64_t d = 0; d < 12; ++d)
      for (int64_t count = 0; count <= 70; ++count)
        for (int64_t tile : {1, 2, 3, 5, 1024}) {
          errors += check_segment(base + d, count, tile, printed);
          ++cases;
        }
  std::printf("{\"mode\":\"block-split\",\"cases\":%" PRId64 ",\"errors\":%" PRId64 ",\"ok\":%s}\n", cases, errors,
              errors ? "false" : "true");
  return errors ? 1 : 0;
}

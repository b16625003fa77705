// defines: the check driver's mode block-split (native/tools/block_split_check.cpp): dpzo/block_split.h
// against brute force — every element of a segment covered exactly once by its head, its tiles of whole
// Philox blocks and its tail, each in block g/4 at word g mod 4. The CUDA kernels' index arithmetic, tested
// where they cannot run. One JSON line; exit 1 on any error.
#pragma once

int mode_block_split();

// defines: Sha256, a streaming SHA-256 (FIPS 180-4) for Model::weights_hash.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace dpzo {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t bytes);
  // Finishes the hash and returns it as 64 lowercase hex digits (call once).
  std::string hex_digest();

 private:
  void block(const uint8_t* p);             // portable compression of one 64-byte block
  void blocks(const uint8_t* p, size_t n);  // n blocks, SHA-NI when the CPU has it
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t total_ = 0;
};

}  // namespace dpzo

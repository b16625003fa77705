// defines: the core's POSIX file helpers: path_join, exists checks, a capped
// whole-file read, RandomAccessFile (pread), mkdir_p and AtomicWriter
// (temp file in the same directory + fsync + rename, so readers never see a
// half-written checkpoint). Every failure throws dpzo::Error naming the path.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dpzo::fileio {

std::string path_join(const std::string& dir, const std::string& name);
bool is_file(const std::string& path);  // exists and is a regular file (after symlinks)
bool is_dir(const std::string& path);

// Reads a whole (small) file; ERR_IO if unreadable, `too_big_code` if larger than max_bytes.
std::string read_file(const std::string& path, int64_t max_bytes, const char* too_big_code);

// A regular file read with pread, never mapped: a file that shrinks while it
// is read (another process truncating a checkpoint) is then an ERR_SAFETENSORS_TRUNCATED
// naming the path, where an mmap would kill the whole process with SIGBUS.
class RandomAccessFile {
 public:
  explicit RandomAccessFile(const std::string& path);
  ~RandomAccessFile();
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;
  uint64_t size() const { return size_; }  // at open
  const std::string& path() const { return path_; }
  // Reads exactly [offset, offset+len) into dst; safe to call from several threads at once.
  void read_at(uint64_t offset, uint64_t len, void* dst) const;
  // Hint that [offset, offset+len) will be read soon, front to back.
  void will_need(uint64_t offset, uint64_t len) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Creates dir and its missing parents (like mkdir -p).
void mkdir_p(const std::string& dir);

// Writes `path` atomically: bytes go to a temp file next to it; commit()
// fsyncs, renames it over `path` and fsyncs the directory. Destroyed without
// commit() (e.g. by an exception), the temp file is removed.
class AtomicWriter {
 public:
  explicit AtomicWriter(const std::string& path);
  ~AtomicWriter();
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;
  void write(const void* data, size_t bytes);
  void commit();

 private:
  void flush();
  void write_all(const void* data, size_t bytes);
  std::string path_, tmp_;
  int fd_ = -1;
  std::vector<char> buf_;
  size_t used_ = 0;
};

}  // namespace dpzo::fileio

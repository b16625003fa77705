// defines: fileio helpers (see core/fileio.h), POSIX only.
#include "core/fileio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "dpzo/errors.h"

namespace dpzo::fileio {

namespace {

[[noreturn]] void io_error(const std::string& path, const std::string& what, int e) {
  throw Error(err::kIo, path + ": " + what + ": " + std::strerror(e));
}

// open(O_RDONLY) + fstat; on failure nothing stays open and the error names the path
int open_for_read(const std::string& path, struct stat& st) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) io_error(path, "cannot open", errno);
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    io_error(path, "cannot stat", e);
  }
  return fd;
}

std::string dir_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string path_join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string read_file(const std::string& path, int64_t max_bytes, const char* too_big_code) {
  struct stat st;
  int fd = open_for_read(path, st);
  if (st.st_size > max_bytes) {
    ::close(fd);
    throw Error(too_big_code, path + ": file is " + std::to_string(st.st_size) + " bytes, more than the " +
                                  std::to_string(max_bytes) + "-byte limit");
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = ::read(fd, &out[got], out.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      ::close(fd);
      io_error(path, "read failed", e);
    }
    if (r == 0) break;  // shrank while reading
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

RandomAccessFile::RandomAccessFile(const std::string& path) : path_(path) {
  struct stat st;
  int fd = open_for_read(path, st);
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(err::kIo, path + ": not a regular file");
  }
  fd_ = fd;
  size_ = static_cast<uint64_t>(st.st_size);
}

RandomAccessFile::~RandomAccessFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RandomAccessFile::read_at(uint64_t offset, uint64_t len, void* dst) const {
  uint8_t* out = static_cast<uint8_t*>(dst);
  uint64_t got = 0;
  while (got < len) {
    // pread's count is capped (Linux moves at most 0x7ffff000 bytes per call): loop
    const size_t want = static_cast<size_t>(std::min<uint64_t>(len - got, uint64_t{1} << 30));
    ssize_t r = ::pread(fd_, out + got, want, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) io_error(path_, "read failed at byte " + std::to_string(offset + got), errno);
    if (r == 0)
      throw Error(err::kSafetensorsTruncated, path_ + ": file shrank while being read (" + std::to_string(size_) +
                                                  " bytes at open, nothing at byte " + std::to_string(offset + got) +
                                                  ")");
    got += static_cast<uint64_t>(r);
  }
}

void RandomAccessFile::will_need(uint64_t offset, uint64_t len) const {
  if (len == 0 || offset >= size_) return;
  // advice only: failure changes nothing but speed
  ::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(len), POSIX_FADV_SEQUENTIAL);
  ::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(len), POSIX_FADV_WILLNEED);
}

void mkdir_p(const std::string& dir) {
  if (dir.empty()) throw Error(err::kArgument, "empty directory path");
  if (is_dir(dir)) return;
  std::string cur;
  size_t i = 0;
  if (dir[0] == '/') {
    cur = "/";
    i = 1;
  }
  while (i <= dir.size()) {
    size_t j = dir.find('/', i);
    if (j == std::string::npos) j = dir.size();
    if (j > i) {
      cur += dir.substr(i, j - i);
      if (::mkdir(cur.c_str(), 0777) != 0 && errno != EEXIST) io_error(cur, "cannot create directory", errno);
      if (!is_dir(cur)) throw Error(err::kIo, cur + ": exists and is not a directory");
      cur += "/";
    }
    i = j + 1;
  }
}

AtomicWriter::AtomicWriter(const std::string& path) : path_(path) {
  static std::atomic<uint64_t> counter{0};
  // A name taken is a leftover of a crashed process that had this pid (pids are reused: a container's entry
  // point gets the same one each run); it is left alone and the next name tried, where one EEXIST failed the save.
  for (int attempt = 0;; ++attempt) {
    tmp_ = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) break;
    if (errno != EEXIST || attempt == 1000) io_error(tmp_, "cannot create", errno);
  }
  buf_.resize(1 << 20);
}

AtomicWriter::~AtomicWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicWriter::write_all(const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    // large writes in 1 GiB pieces: some kernels cap a single write
    size_t n = bytes < (size_t(1) << 30) ? bytes : (size_t(1) << 30);
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) io_error(tmp_, "write failed", errno);
    p += w;
    bytes -= static_cast<size_t>(w);
  }
}

void AtomicWriter::flush() {
  if (used_) write_all(buf_.data(), used_);
  used_ = 0;
}

void AtomicWriter::write(const void* data, size_t bytes) {
  if (fd_ < 0) throw Error(err::kIo, path_ + ": write after commit");
  if (bytes >= buf_.size() / 2) {  // big tensors go straight from their memory
    flush();
    write_all(data, bytes);
    return;
  }
  if (used_ + bytes > buf_.size()) flush();
  std::memcpy(buf_.data() + used_, data, bytes);
  used_ += bytes;
}

void AtomicWriter::commit() {
  if (fd_ < 0) throw Error(err::kIo, path_ + ": committed twice");
  flush();
  if (::fsync(fd_) != 0) io_error(tmp_, "fsync failed", errno);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp_.c_str());
    io_error(tmp_, "close failed", e);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp_.c_str());
    io_error(path_, "cannot rename the temp file into place", e);
  }
  // make the rename itself durable
  int dfd = ::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace dpzo::fileio

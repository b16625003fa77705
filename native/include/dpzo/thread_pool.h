// defines: ThreadPool, a fixed set of workers with a blocking parallel_for.
// One pool per Model; `threads` = 1 runs everything on the calling thread.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dpzo {

// Most threads one pool may start: above this a typo (--threads 1000000) would start tens of
// thousands of OS threads and starve the machine; no CPU this engine targets has more cores.
inline constexpr int kMaxThreads = 1024;

// The CPUs this process may run on: the affinity mask (taskset, a container's cpuset) and a cgroup CPU quota
// (docker --cpus) bound it, as Node's os.availableParallelism() does for the mask; at least 1. The machine's
// core count (hardware_concurrency) ignored both, so a pool in a 2-CPU container on a 64-core host started 64
// threads that time-shared 2 CPUs.
int usable_cpus();

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: usable_cpus()
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_; }
  // Calls fn(task, worker) for task in [0, n_tasks), spread over the workers;
  // returns when all are done. Exceptions from fn are rethrown (the first one).
  void run(int64_t n_tasks, const std::function<void(int64_t task, int worker)>& fn);
  // Splits [0, n) into contiguous chunks of at least `grain`, one call per chunk.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end, int worker)>& fn);

 private:
  void worker_loop(int id);
  int n_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t, int)>* job_ = nullptr;
  int64_t n_tasks_ = 0;
  int64_t next_ = 0;
  int active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace dpzo

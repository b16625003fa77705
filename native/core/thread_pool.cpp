// defines: ThreadPool (see dpzo/thread_pool.h). Workers pull task indices from
// a shared counter; the caller works too, so `threads` = N means N runners.
#include "dpzo/thread_pool.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#ifdef __linux__
#include <sched.h>
#endif

namespace dpzo {

namespace {

// CPUs a cgroup quota allows (cgroup v2 cpu.max "quota period", v1 cfs_quota_us / cfs_period_us), rounded up;
// 0 when there is no quota or it cannot be read.
int cgroup_quota_cpus() {
  double quota = -1, period = -1;
  std::ifstream v2("/sys/fs/cgroup/cpu.max");
  std::string q;
  if (v2 >> q >> period) {
    if (q == "max") return 0;
    quota = std::atof(q.c_str());
  } else {
    std::ifstream vq("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), vp("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
    if (!(vq >> quota) || !(vp >> period)) return 0;
  }
  if (!(quota > 0) || !(period > 0)) return 0;
  return static_cast<int>(std::min(1e6, std::ceil(quota / period)));
}

}  // namespace

int usable_cpus() {
  int n = static_cast<int>(std::thread::hardware_concurrency());
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
  const int quota = cgroup_quota_cpus();
  if (quota > 0) n = n > 0 ? std::min(n, quota) : quota;
  return std::max(1, n);
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = usable_cpus();
  threads = std::min(threads, kMaxThreads);
  n_ = threads;
  for (int i = 1; i < n_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop(int id) {
  uint64_t seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    const auto* job = job_;
    ++active_;
    for (;;) {
      if (next_ >= n_tasks_ || error_) break;
      int64_t t = next_++;
      lk.unlock();
      try {
        (*job)(t, id);
      } catch (...) {
        lk.lock();
        if (!error_) error_ = std::current_exception();
        continue;
      }
      lk.lock();
    }
    if (--active_ == 0) done_cv_.notify_all();
  }
}

void ThreadPool::run(int64_t n_tasks, const std::function<void(int64_t, int)>& fn) {
  if (n_tasks <= 0) return;
  if (n_ == 1 || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  std::unique_lock<std::mutex> lk(mu_);
  job_ = &fn;
  n_tasks_ = n_tasks;
  next_ = 0;
  error_ = nullptr;
  ++generation_;
  ++active_;  // the caller
  cv_.notify_all();
  for (;;) {
    if (next_ >= n_tasks_ || error_) break;
    int64_t t = next_++;
    lk.unlock();
    try {
      fn(t, 0);
    } catch (...) {
      lk.lock();
      if (!error_) error_ = std::current_exception();
      continue;
    }
    lk.lock();
  }
  --active_;
  done_cv_.wait(lk, [&] { return active_ == 0; });
  job_ = nullptr;
  n_tasks_ = 0;
  auto err = error_;
  error_ = nullptr;
  lk.unlock();
  if (err) std::rethrow_exception(err);
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, static_cast<int64_t>(n_) * 4);
  chunks = std::max<int64_t>(1, chunks);
  int64_t step = (n + chunks - 1) / chunks;
  chunks = (n + step - 1) / step;
  run(chunks, [&](int64_t c, int w) {
    int64_t b = c * step, e = std::min(n, b + step);
    fn(b, e, w);
  });
}

}  // namespace dpzo

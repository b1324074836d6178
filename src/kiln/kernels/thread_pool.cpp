#include "kiln/kernels/thread_pool.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "kiln/base/error.h"

namespace kiln::kernels {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls `done` until it returns true or `spin` has passed; returns whether it did.
// The clock is read only every few dozen polls: it costs more than a poll.
template <typename Done>
bool SpinUntil(std::chrono::microseconds spin, const Done& done) {
  if (done()) return true;
  auto deadline = std::chrono::steady_clock::now() + spin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      CpuRelax();
      if (done()) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
  }
}

}  // namespace

ThreadPool::ThreadPool(int num_threads, std::chrono::microseconds spin) : spin_(spin) {
  if (num_threads < 1) Fail("thread pool needs at least 1 thread, got {}", num_threads);
  workers_.reserve(static_cast<std::size_t>(num_threads - 1));
  for (int t = 1; t < num_threads; ++t) workers_.emplace_back([this, t] { WorkerMain(t); });
}

ThreadPool::~ThreadPool() {
  shutting_down_.store(true, std::memory_order_relaxed);
  epoch_.fetch_add(1, std::memory_order_release);
  epoch_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::Run(std::int64_t n, std::int64_t grain, ChunkFn fn, const void* body) {
  if (in_loop_.exchange(true, std::memory_order_acquire)) {
    Fail("ThreadPool::ParallelFor was called from inside a loop or from two threads at once");
  }
  fn_ = fn;
  body_ = body;
  n_ = n;
  grain_ = grain;
  next_chunk_.store(0, std::memory_order_relaxed);
  busy_workers_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  // Release publishes the loop above to every worker that sees the new epoch.
  epoch_.fetch_add(1, std::memory_order_release);
  epoch_.notify_all();

  DrainChunks(0);

  auto finished = [this] { return busy_workers_.load(std::memory_order_acquire) == 0; };
  if (!SpinUntil(spin_, finished)) {
    for (int busy; (busy = busy_workers_.load(std::memory_order_acquire)) != 0;) {
      busy_workers_.wait(busy, std::memory_order_acquire);
    }
  }
  std::exception_ptr error = std::exchange(first_exception_, nullptr);
  in_loop_.store(false, std::memory_order_release);
  if (error) std::rethrow_exception(error);
}

void ThreadPool::WorkerMain(int thread) {
  std::uint32_t seen = 0;
  for (;;) {
    auto changed = [this, seen] { return epoch_.load(std::memory_order_acquire) != seen; };
    if (!SpinUntil(spin_, changed)) {
      while (epoch_.load(std::memory_order_acquire) == seen) {
        epoch_.wait(seen, std::memory_order_acquire);
      }
    }
    seen = epoch_.load(std::memory_order_acquire);
    if (shutting_down_.load(std::memory_order_relaxed)) return;
    DrainChunks(thread);
    // Release hands this worker's writes (the loop's outputs) to the caller.
    if (busy_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) busy_workers_.notify_one();
  }
}

void ThreadPool::DrainChunks(int thread) {
  for (;;) {
    std::int64_t chunk = next_chunk_.fetch_add(1, std::memory_order_relaxed);
    if (chunk >= (n_ + grain_ - 1) / grain_) return;
    std::int64_t begin = chunk * grain_;
    std::int64_t end = std::min(n_, begin + grain_);
    try {
      fn_(body_, begin, end, thread);
    } catch (...) {
      RecordException();
      // Stop handing out chunks; the loop's result is discarded anyway.
      next_chunk_.store(std::numeric_limits<std::int64_t>::max() / 2, std::memory_order_relaxed);
      return;
    }
  }
}

void ThreadPool::RecordException() {
  std::lock_guard<std::mutex> lock(exception_mutex_);
  if (!first_exception_) first_exception_ = std::current_exception();
}

}  // namespace kiln::kernels

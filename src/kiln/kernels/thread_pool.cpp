#include "kiln/kernels/thread_pool.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "kiln/base/error.h"

namespace kiln::kernels {
namespace {

constexpr std::uint32_t kClosed = std::numeric_limits<std::uint32_t>::max();

std::uint64_t ClaimWord(std::uint32_t loop, std::uint32_t next_chunk) {
  return static_cast<std::uint64_t>(loop) << 32 | next_chunk;
}

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
  if (num_threads > 1024) Fail("thread pool of {} threads is too large", num_threads);
  workers_.reserve(static_cast<std::size_t>(num_threads - 1));
  for (int t = 1; t < num_threads; ++t) workers_.emplace_back([this, t] { WorkerMain(t); });
}

ThreadPool::~ThreadPool() {
  shutting_down_.store(true, std::memory_order_relaxed);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::Run(std::int64_t n, std::int64_t grain, ChunkFn fn, const void* body) {
  if (in_loop_.exchange(true, std::memory_order_acquire)) {
    Fail("ThreadPool::ParallelFor was called from inside a loop or from two threads at once");
  }
  const std::int64_t chunks = (n + grain - 1) / grain;
  if (chunks >= kClosed) Fail("ThreadPool::ParallelFor: {} chunks is too many", chunks);

  // Every chunk of the previous loop is claimed and finished. Close it first, so that a thread
  // still holding its claim word cannot read the new chunk count and claim a chunk that the
  // previous loop never had.
  const auto loop = static_cast<std::uint32_t>(claim_.load(std::memory_order_relaxed) >> 32);
  claim_.store(ClaimWord(loop, kClosed), std::memory_order_seq_cst);
  fn_ = fn;
  body_ = body;
  n_ = n;
  grain_ = grain;
  cancelled_.store(false, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  chunks_.store(static_cast<std::uint32_t>(chunks), std::memory_order_seq_cst);
  // Release: a thread that claims from this word sees the loop written above.
  claim_.store(ClaimWord(loop + 1, 0), std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_all();

  RunChunks(0);

  const auto total = static_cast<std::uint32_t>(chunks);
  auto finished = [this, total] { return done_.load(std::memory_order_acquire) == total; };
  if (!SpinUntil(spin_, finished)) {
    for (std::uint32_t done; (done = done_.load(std::memory_order_acquire)) != total;) {
      done_.wait(done, std::memory_order_acquire);
    }
  }
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(exception_mutex_);
    error = std::exchange(first_exception_, nullptr);
  }
  in_loop_.store(false, std::memory_order_release);
  if (error) std::rethrow_exception(error);
}

void ThreadPool::RunChunks(int thread) {
  for (;;) {
    std::uint64_t word = claim_.load(std::memory_order_acquire);
    const auto next = static_cast<std::uint32_t>(word);
    // Read after `word`: either this loop's count or, if the caller has moved on, a later one; in
    // that case the claim word has changed and the exchange below fails.
    const std::uint32_t chunks = chunks_.load(std::memory_order_seq_cst);
    if (next == kClosed || next >= chunks) return;
    if (!claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;
    }
    // Chunk `next` is ours; the loop cannot change until we report it done.
    if (!cancelled_.load(std::memory_order_relaxed)) {
      const std::int64_t begin = static_cast<std::int64_t>(next) * grain_;
      const std::int64_t end = std::min(n_, begin + grain_);
      try {
        fn_(body_, begin, end, thread);
      } catch (...) {
        std::lock_guard<std::mutex> lock(exception_mutex_);
        if (!first_exception_) first_exception_ = std::current_exception();
        cancelled_.store(true, std::memory_order_relaxed);
      }
    }
    // Release hands this chunk's writes to the caller.
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) done_.notify_one();
  }
}

void ThreadPool::WorkerMain(int thread) {
  std::uint32_t seen = 0;
  for (;;) {
    auto woken = [this, seen] { return wake_.load(std::memory_order_acquire) != seen; };
    if (!SpinUntil(spin_, woken)) {
      while (wake_.load(std::memory_order_acquire) == seen) {
        wake_.wait(seen, std::memory_order_acquire);
      }
    }
    seen = wake_.load(std::memory_order_acquire);
    if (shutting_down_.load(std::memory_order_relaxed)) return;
    RunChunks(thread);
  }
}

}  // namespace kiln::kernels

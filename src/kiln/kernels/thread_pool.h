// ThreadPool: a fixed set of worker threads, created once and joined by the destructor, that run
// parallel-for loops with the calling thread taking part. Built for many short loops (a forward
// pass runs hundreds per token): idle workers spin briefly before sleeping, so a loop that follows
// closely on the last one starts in well under a microsecond, and a loop never waits for a worker
// that has not started on it (a busy machine may not schedule one for milliseconds).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::kernels {

class ThreadPool {
 public:
  // `num_threads` counts the caller: 1 runs every loop inline and starts no thread.
  // `spin` is how long an idle thread polls for work (or a finishing loop) before it sleeps.
  explicit ThreadPool(int num_threads, std::chrono::microseconds spin = kDefaultSpin);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls body(begin, end, thread) for consecutive chunks covering [0, n), each at most `grain`
  // long, and returns when all are done. `thread` is in [0, num_threads()) and no two concurrent
  // calls share one, so it can index per-thread scratch. Chunks are claimed dynamically by
  // whichever threads are running. The first exception a body throws is rethrown here after the
  // loop (chunks not yet started are skipped). Loops must not nest, and only one thread may drive
  // the pool at a time.
  template <typename Body>
  void ParallelFor(std::int64_t n, std::int64_t grain, const Body& body) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (workers_.empty() || n <= grain) {
      for (std::int64_t begin = 0; begin < n; begin += grain) {
        body(begin, begin + grain < n ? begin + grain : n, 0);
      }
      return;
    }
    Run(n, grain, &Invoke<Body>, &body);
  }

  // Long enough to bridge the gap between consecutive kernels of a forward pass.
  static constexpr std::chrono::microseconds kDefaultSpin{200};

 private:
  using ChunkFn = void (*)(const void* body, std::int64_t begin, std::int64_t end, int thread);

  template <typename Body>
  static void Invoke(const void* body, std::int64_t begin, std::int64_t end, int thread) {
    (*static_cast<const Body*>(body))(begin, end, thread);
  }

  void Run(std::int64_t n, std::int64_t grain, ChunkFn fn, const void* body);
  void WorkerMain(int thread);
  // Claims and runs chunks of the current loop until none are left unclaimed.
  void RunChunks(int thread);

  // The loop being run. Written by the caller only while no chunk is claimable; a thread reads
  // them only after claiming a chunk, and the caller waits for every claimed chunk to finish.
  ChunkFn fn_ = nullptr;
  const void* body_ = nullptr;
  std::int64_t n_ = 0;
  std::int64_t grain_ = 1;

  // Loop number (high 32 bits) and next unclaimed chunk (low 32 bits): claiming is one
  // compare-exchange, which fails for a thread still looking at an older loop.
  alignas(64) std::atomic<std::uint64_t> claim_{0};
  std::atomic<std::uint32_t> chunks_{0};
  // Chunks finished in the current loop; the caller waits for it to reach chunks_.
  alignas(64) std::atomic<std::uint32_t> done_{0};
  // Bumped once per loop and at shutdown; idle workers wait for it to change.
  alignas(64) std::atomic<std::uint32_t> wake_{0};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> in_loop_{false};
  std::atomic<bool> cancelled_{false};

  std::mutex exception_mutex_;
  std::exception_ptr first_exception_;

  std::chrono::microseconds spin_;
  std::vector<std::thread> workers_;
};

}  // namespace kiln::kernels

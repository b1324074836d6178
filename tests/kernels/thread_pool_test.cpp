#include "kiln/kernels/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "kiln/base/error.h"

namespace kiln::kernels {
namespace {

using std::chrono::microseconds;

// Every index of [0, n) is visited exactly once, in chunks no longer than the grain.
TEST(ThreadPoolTest, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.num_threads(), threads);
    for (std::int64_t n : {0, 1, 2, 7, 64, 1000, 4097}) {
      for (std::int64_t grain : {1, 3, 64, 5000}) {
        std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
        std::atomic<bool> chunk_too_long{false};
        pool.ParallelFor(n, grain, [&](std::int64_t begin, std::int64_t end, int thread) {
          if (end - begin > grain || begin >= end) chunk_too_long = true;
          EXPECT_GE(thread, 0);
          EXPECT_LT(thread, threads);
          for (std::int64_t i = begin; i < end; ++i) hits[static_cast<std::size_t>(i)]++;
        });
        EXPECT_FALSE(chunk_too_long);
        for (std::int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(hits[static_cast<std::size_t>(i)].load(), 1)
              << "threads=" << threads << " n=" << n << " grain=" << grain << " i=" << i;
        }
      }
    }
  }
}

// Two chunks running at the same time never share a thread index, so per-thread scratch is safe.
TEST(ThreadPoolTest, ThreadIndexIsExclusive) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> in_use(4);
  std::atomic<int> clashes{0};
  for (int round = 0; round < 200; ++round) {
    pool.ParallelFor(64, 1, [&](std::int64_t, std::int64_t, int thread) {
      if (in_use[static_cast<std::size_t>(thread)].exchange(1) != 0) clashes++;
      volatile int spin = 0;
      for (int i = 0; i < 200; ++i) spin = spin + i;
      in_use[static_cast<std::size_t>(thread)].store(0);
    });
  }
  EXPECT_EQ(clashes.load(), 0);
}

// Workers really take chunks: chunk 0 only finishes once chunk 1 has started, which the blocked
// caller cannot do itself. (The wait is bounded so that a broken pool fails instead of hanging.)
TEST(ThreadPoolTest, WorkersRunChunksConcurrently) {
  for (auto spin : {microseconds(0), ThreadPool::kDefaultSpin}) {
    ThreadPool pool(2, spin);
    for (int round = 0; round < 20; ++round) {
      std::atomic<bool> second_started{false};
      std::atomic<bool> timed_out{false};
      pool.ParallelFor(2, 1, [&](std::int64_t begin, std::int64_t, int) {
        if (begin == 1) {
          second_started = true;
          return;
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!second_started) {
          if (std::chrono::steady_clock::now() > deadline) {
            timed_out = true;
            return;
          }
          std::this_thread::yield();
        }
      });
      ASSERT_FALSE(timed_out) << "round " << round;
    }
  }
}

// Plain (non-atomic) writes made by workers are visible to the caller after the loop: the loop's
// end is a synchronisation point (TSan checks this in the KILN_TSAN build).
TEST(ThreadPoolTest, WorkerWritesVisibleAfterLoop) {
  ThreadPool pool(3);
  std::vector<std::int64_t> out(10000);
  for (int round = 0; round < 50; ++round) {
    pool.ParallelFor(static_cast<std::int64_t>(out.size()), 97,
                     [&](std::int64_t begin, std::int64_t end, int) {
                       for (std::int64_t i = begin; i < end; ++i) {
                         out[static_cast<std::size_t>(i)] = i * round;
                       }
                     });
    for (std::size_t i = 0; i < out.size(); ++i) {
      ASSERT_EQ(out[i], static_cast<std::int64_t>(i) * round);
    }
  }
}

TEST(ThreadPoolTest, ExceptionReachesCallerAndPoolStaysUsable) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.ParallelFor(100, 1,
                                [](std::int64_t begin, std::int64_t, int) {
                                  if (begin == 37) throw std::runtime_error("chunk 37 failed");
                                }),
               std::runtime_error);
  std::atomic<std::int64_t> sum{0};
  pool.ParallelFor(100, 1, [&](std::int64_t begin, std::int64_t, int) { sum += begin; });
  EXPECT_EQ(sum.load(), 99 * 100 / 2);
}

TEST(ThreadPoolTest, NestedLoopIsRejected) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.ParallelFor(8, 1,
                                [&](std::int64_t, std::int64_t, int) {
                                  pool.ParallelFor(8, 1, [](std::int64_t, std::int64_t, int) {});
                                }),
               Error);
}

TEST(ThreadPoolTest, RejectsZeroThreads) {
  EXPECT_THROW(ThreadPool(0), Error);
}

// With no spinning, workers sleep between loops; waking them must still work, and so must
// destroying a pool whose workers are asleep.
TEST(ThreadPoolTest, SleepingWorkersWakeUp) {
  ThreadPool pool(3, microseconds(0));
  for (int round = 0; round < 300; ++round) {
    std::atomic<int> chunks{0};
    pool.ParallelFor(6, 1, [&](std::int64_t, std::int64_t, int) { chunks++; });
    ASSERT_EQ(chunks.load(), 6);
  }
}

// A tight sequence of small loops (a forward pass's pattern) costs microseconds each. The bound is
// loose so that a loaded machine does not fail it; a pool that sleeps or spawns per loop would.
TEST(ThreadPoolTest, ManySmallLoopsAreCheap) {
  ThreadPool pool(2);
  std::atomic<std::int64_t> total{0};
  constexpr int kLoops = 20000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kLoops; ++i) {
    pool.ParallelFor(4, 1, [&](std::int64_t begin, std::int64_t, int) {
      total.fetch_add(begin, std::memory_order_relaxed);
    });
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(total.load(), std::int64_t{kLoops} * 6);
  EXPECT_LT(seconds / kLoops, 500e-6) << "mean per loop: " << seconds / kLoops * 1e6 << " us";
}

}  // namespace
}  // namespace kiln::kernels

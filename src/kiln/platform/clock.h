// Time as the service layer sees it: wall-clock Unix milliseconds (key expiry, ledger
// timestamps, day and month budget windows) and a monotonic clock (rate-limit refill). Behind
// an interface so that tests and benchmarks can drive limits deterministically.
#pragma once

#include <atomic>
#include <cstdint>

namespace kiln::platform {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t UnixMillis() const = 0;
  virtual std::int64_t SteadyMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t UnixMillis() const override;
  std::int64_t SteadyMillis() const override;
};

// A clock that moves only when told to; both readings advance together.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t unix_ms) : unix_ms_(unix_ms) {}
  std::int64_t UnixMillis() const override { return unix_ms_.load(); }
  std::int64_t SteadyMillis() const override { return steady_ms_.load(); }
  void Advance(std::int64_t ms) {
    unix_ms_ += ms;
    steady_ms_ += ms;
  }

 private:
  std::atomic<std::int64_t> unix_ms_;
  std::atomic<std::int64_t> steady_ms_{0};
};

}  // namespace kiln::platform

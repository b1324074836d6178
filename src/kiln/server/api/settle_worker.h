// SettleWorker: one background thread that runs blocking jobs (ledger writes) in order, so
// neither the HTTP I/O threads nor the engine thread ever wait on storage. The destructor runs
// what is still queued, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace kiln::server::api {

class SettleWorker {
 public:
  SettleWorker();
  ~SettleWorker();
  SettleWorker(const SettleWorker&) = delete;
  SettleWorker& operator=(const SettleWorker&) = delete;

  // Queues `job`; it must not throw (jobs report their own failures).
  void Post(std::function<void()> job);

 private:
  void Loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kiln::server::api

// MetricsRegistry: counters, gauges and histograms with label sets, rendered in the Prometheus
// text exposition format (HELP/TYPE lines, _bucket{le=...}, _sum, _count). Every operation is
// thread-safe; a metric reference stays valid for the registry's lifetime, so hot paths look a
// labelled metric up once and then only touch atomics.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::server {

class Counter {
 public:
  void Inc(double amount = 1.0);  // amount must be >= 0 (counters only go up)
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Inc(double amount = 1.0) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void Dec(double amount = 1.0) { value_.fetch_sub(amount, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;       // without +Inf
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  std::vector<double> upper_bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;  // per bucket (not cumulative), last is +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// Default latency buckets in seconds, 5 ms to 60 s.
std::vector<double> DefaultLatencyBuckets();

namespace detail {
// One metric name: its help text, label names and one child per distinct label-value tuple.
template <typename Metric>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Metric>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        make_(std::move(make)) {}

  // The child for these label values (one per label name, in order); created on first use.
  // Throws kiln::Error when the number of values is wrong.
  Metric& Labels(const std::vector<std::string>& values);
  Metric& Get() { return Labels({}); }  // for a family without labels

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Calls fn(label_values, metric) for every child, in label order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    std::lock_guard lock(mutex_);
    for (const auto& [values, metric] : children_) fn(values, *metric);
  }

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<Metric>()> make_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};
void CheckLabelCount(std::string_view name, std::size_t expected, std::size_t got);
}  // namespace detail

using CounterFamily = detail::Family<Counter>;
using GaugeFamily = detail::Family<Gauge>;
using HistogramFamily = detail::Family<Histogram>;

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registering a name again with the same kind and label names returns the existing family;
  // anything else (bad name, clash of kind or labels) throws kiln::Error.
  CounterFamily& AddCounter(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string_view name, std::string_view help,
                        std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(std::string_view name, std::string_view help,
                                std::vector<double> upper_bounds,
                                std::vector<std::string> label_names = {});

  // Runs before every Render, e.g. to copy engine or KV-cache state into gauges.
  void AddCollectHook(std::function<void()> hook);

  // The whole registry in text exposition format 0.0.4, families in registration order.
  std::string Render() const;

 private:
  struct Entry;
  Entry* Find(std::string_view name);
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Entry>> entries_;
  std::vector<std::function<void()>> hooks_;
};

template <typename Metric>
Metric& detail::Family<Metric>::Labels(const std::vector<std::string>& values) {
  CheckLabelCount(name_, label_names_.size(), values.size());
  std::lock_guard lock(mutex_);
  auto it = children_.find(values);
  if (it == children_.end()) it = children_.emplace(values, make_()).first;
  return *it->second;
}

}  // namespace kiln::server

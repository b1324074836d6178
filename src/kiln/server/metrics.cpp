#include "kiln/server/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <variant>

#include "kiln/base/error.h"

namespace kiln::server {
namespace {

bool IsNameChar(char c, bool first, bool allow_colon) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (allow_colon && c == ':') return true;
  return alpha || (!first && c >= '0' && c <= '9');
}

void CheckName(std::string_view name, bool metric) {
  bool ok = !name.empty();
  for (std::size_t i = 0; ok && i < name.size(); ++i) ok = IsNameChar(name[i], i == 0, metric);
  if (!metric && name.substr(0, std::min<std::size_t>(2, name.size())) == "__") ok = false;
  if (!ok) {
    Fail("'{}' is not a valid Prometheus {} name", name, metric ? "metric" : "label");
  }
}

// Prometheus text format numbers: integers without a fraction, +Inf/-Inf/NaN spelled out.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
}

// {a="x",b="y"} plus an optional extra label (le for histogram buckets); "" when there are none.
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += names[i];
    out += "=\"";
    AppendEscaped(out, values[i], true);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out.push_back(',');
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

void AppendHeader(std::string& out, const std::string& name, const std::string& help,
                  std::string_view type) {
  out += "# HELP ";
  out += name;
  out.push_back(' ');
  AppendEscaped(out, help, false);
  out += "\n# TYPE ";
  out += name;
  out.push_back(' ');
  out += type;
  out.push_back('\n');
}

}  // namespace

void Counter::Inc(double amount) {
  if (!(amount >= 0)) Fail("a counter cannot go down (Inc({}))", amount);
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upper_bounds) : upper_bounds_(std::move(upper_bounds)) {
  if (!std::is_sorted(upper_bounds_.begin(), upper_bounds_.end()) ||
      std::adjacent_find(upper_bounds_.begin(), upper_bounds_.end()) != upper_bounds_.end()) {
    Fail("histogram bucket bounds must be strictly increasing");
  }
  if (!upper_bounds_.empty() && std::isinf(upper_bounds_.back())) upper_bounds_.pop_back();
  counts_.assign(upper_bounds_.size() + 1, 0);
}

void Histogram::Observe(double value) {
  // Buckets are "less than or equal": value == bound lands in that bound's bucket.
  std::size_t bucket = static_cast<std::size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  std::lock_guard lock(mutex_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snap;
  snap.upper_bounds = upper_bounds_;
  std::lock_guard lock(mutex_);
  std::uint64_t running = 0;
  for (std::uint64_t c : counts_) {
    running += c;
    snap.cumulative.push_back(running);
  }
  snap.sum = sum_;
  snap.count = count_;
  return snap;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

void detail::CheckLabelCount(std::string_view name, std::size_t expected, std::size_t got) {
  if (expected != got) Fail("metric {} has {} labels, got {} values", name, expected, got);
}

struct MetricsRegistry::Entry {
  std::string name;
  std::variant<std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>,
               std::unique_ptr<HistogramFamily>>
      family;
  std::vector<double> buckets;  // histograms only
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry* MetricsRegistry::Find(std::string_view name) {
  for (auto& entry : entries_) {
    if (entry->name == name) return entry.get();
  }
  return nullptr;
}

namespace {
template <typename FamilyT>
FamilyT* Existing(std::string_view kind, std::string_view name, auto& variant,
                  const std::vector<std::string>& labels) {
  auto* held = std::get_if<std::unique_ptr<FamilyT>>(&variant);
  if (held == nullptr) Fail("metric {} is already registered as another kind than {}", name, kind);
  if ((*held)->label_names() != labels) {
    Fail("metric {} is already registered with other label names", name);
  }
  return held->get();
}

void CheckNames(std::string_view name, const std::vector<std::string>& labels) {
  CheckName(name, true);
  for (const std::string& label : labels) CheckName(label, false);
}
}  // namespace

CounterFamily& MetricsRegistry::AddCounter(std::string_view name, std::string_view help,
                                           std::vector<std::string> label_names) {
  CheckNames(name, label_names);
  std::lock_guard lock(mutex_);
  if (Entry* e = Find(name))
    return *Existing<CounterFamily>("counter", name, e->family, label_names);
  auto entry = std::make_unique<Entry>();
  entry->name = std::string(name);
  auto family =
      std::make_unique<CounterFamily>(std::string(name), std::string(help), std::move(label_names),
                                      [] { return std::make_unique<Counter>(); });
  CounterFamily& ref = *family;
  entry->family = std::move(family);
  entries_.push_back(std::move(entry));
  return ref;
}

GaugeFamily& MetricsRegistry::AddGauge(std::string_view name, std::string_view help,
                                       std::vector<std::string> label_names) {
  CheckNames(name, label_names);
  std::lock_guard lock(mutex_);
  if (Entry* e = Find(name)) return *Existing<GaugeFamily>("gauge", name, e->family, label_names);
  auto entry = std::make_unique<Entry>();
  entry->name = std::string(name);
  auto family =
      std::make_unique<GaugeFamily>(std::string(name), std::string(help), std::move(label_names),
                                    [] { return std::make_unique<Gauge>(); });
  GaugeFamily& ref = *family;
  entry->family = std::move(family);
  entries_.push_back(std::move(entry));
  return ref;
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                               std::vector<double> upper_bounds,
                                               std::vector<std::string> label_names) {
  CheckNames(name, label_names);
  for (const std::string& label : label_names) {
    if (label == "le") Fail("histogram {} cannot have a label named 'le'", name);
  }
  Histogram probe(upper_bounds);  // validates the bounds before anything is registered
  std::lock_guard lock(mutex_);
  if (Entry* e = Find(name)) {
    HistogramFamily* existing =
        Existing<HistogramFamily>("histogram", name, e->family, label_names);
    if (e->buckets != upper_bounds)
      Fail("metric {} is already registered with other buckets", name);
    return *existing;
  }
  auto entry = std::make_unique<Entry>();
  entry->name = std::string(name);
  entry->buckets = upper_bounds;
  auto family = std::make_unique<HistogramFamily>(
      std::string(name), std::string(help), std::move(label_names),
      [upper_bounds] { return std::make_unique<Histogram>(upper_bounds); });
  HistogramFamily& ref = *family;
  entry->family = std::move(family);
  entries_.push_back(std::move(entry));
  return ref;
}

void MetricsRegistry::AddCollectHook(std::function<void()> hook) {
  std::lock_guard lock(mutex_);
  hooks_.push_back(std::move(hook));
}

std::string MetricsRegistry::Render() const {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(mutex_);
    hooks = hooks_;
  }
  // Hooks may set gauges of this registry, so they run without the registry lock.
  for (const auto& hook : hooks) hook();

  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& entry : entries_) {
    if (const auto* counters = std::get_if<std::unique_ptr<CounterFamily>>(&entry->family)) {
      const CounterFamily& f = **counters;
      AppendHeader(out, f.name(), f.help(), "counter");
      f.ForEach([&](const std::vector<std::string>& values, const Counter& c) {
        out += f.name() + LabelSet(f.label_names(), values) + " " + FormatValue(c.Value()) + "\n";
      });
    } else if (const auto* gauges = std::get_if<std::unique_ptr<GaugeFamily>>(&entry->family)) {
      const GaugeFamily& f = **gauges;
      AppendHeader(out, f.name(), f.help(), "gauge");
      f.ForEach([&](const std::vector<std::string>& values, const Gauge& g) {
        out += f.name() + LabelSet(f.label_names(), values) + " " + FormatValue(g.Value()) + "\n";
      });
    } else {
      const HistogramFamily& f = *std::get<std::unique_ptr<HistogramFamily>>(entry->family);
      AppendHeader(out, f.name(), f.help(), "histogram");
      f.ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
        Histogram::Snapshot s = h.Read();
        for (std::size_t i = 0; i <= s.upper_bounds.size(); ++i) {
          std::string le = i < s.upper_bounds.size() ? FormatValue(s.upper_bounds[i]) : "+Inf";
          out += f.name() + "_bucket" + LabelSet(f.label_names(), values, "le", le) + " " +
                 fmt::format("{}", s.cumulative[i]) + "\n";
        }
        std::string labels = LabelSet(f.label_names(), values);
        out += f.name() + "_sum" + labels + " " + FormatValue(s.sum) + "\n";
        out += f.name() + "_count" + labels + " " + fmt::format("{}", s.count) + "\n";
      });
    }
  }
  return out;
}

}  // namespace kiln::server

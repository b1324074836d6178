// AdmissionPolicy: the order in which the scheduler admits waiting sequences and, reversed, picks
// preemption victims among running ones. First-come-first-served by priority now; the service
// layer plugs in weighted fair share between tenants through the same interface.
#pragma once

#include <cstdint>
#include <string>

namespace kiln::engine {

// What a policy may look at to order a sequence.
struct AdmissionInfo {
  std::string tenant;
  int priority = 0;           // higher first
  std::uint64_t arrival = 0;  // submission order, unique per request
  int choice = 0;             // which of the request's n choices
};

class AdmissionPolicy {
 public:
  virtual ~AdmissionPolicy() = default;
  // Whether `a` should be admitted before `b` (a strict weak order). Preemption takes the last.
  virtual bool Before(const AdmissionInfo& a, const AdmissionInfo& b) const = 0;
  // Accounting hooks for stateful policies (fair share): tokens a tenant got computed in a step.
  virtual void OnTokensScheduled(const std::string& tenant, int tokens) {
    (void)tenant;
    (void)tokens;
  }
};

// Higher priority first, then earlier arrival, then lower choice index.
class FcfsPriorityPolicy final : public AdmissionPolicy {
 public:
  bool Before(const AdmissionInfo& a, const AdmissionInfo& b) const override {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.arrival != b.arrival) return a.arrival < b.arrival;
    return a.choice < b.choice;
  }
};

}  // namespace kiln::engine

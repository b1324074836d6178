#include "kiln/template/callables.h"

#include <fmt/format.h>

#include "kiln/template/fail.h"

namespace kiln::jinja {
namespace {

// `loop.cycle`, `loop.changed` and `loop(...)` bound to their loop.
class LoopMethod : public Callable {
 public:
  enum class Which { kCycle, kChanged, kRecurse };
  LoopMethod(std::shared_ptr<LoopObject> loop, Which which)
      : loop_(std::move(loop)), which_(which) {}

  Value Call(Interpreter& in, Arguments& args) const override {
    switch (which_) {
      case Which::kCycle:
        return loop_->Cycle(args);
      case Which::kChanged:
        return loop_->Changed(args);
      case Which::kRecurse:
        return loop_->Recurse(in, args);
    }
    return Value();
  }
  std::string Repr() const override { return "<bound method of LoopContext>"; }

 private:
  std::shared_ptr<LoopObject> loop_;
  Which which_;
};

}  // namespace

std::string BoundMethod::Repr() const {
  return fmt::format("<built-in method {} of {} object>", name_, TypeName(receiver_));
}

Value MacroCallable::Call(Interpreter& in, Arguments& args) const {
  ScopePtr scope = scope_.lock();
  if (!scope) scope = in.globals();
  return in.CallMacro(macro_, scope, args);
}

void LoopObject::Finish() {
  finished_ = true;
  items_.clear();
  last_changed_ = Value();
}

Value LoopObject::GetAttr(std::string_view name) {
  const size_t n = items_.size();
  const auto i = static_cast<int64_t>(index_);
  const auto length = static_cast<int64_t>(n);
  if (name == "index") return Value::Int(i + 1);
  if (name == "index0") return Value::Int(i);
  if (name == "revindex") return Value::Int(length - i);
  if (name == "revindex0") return Value::Int(length - i - 1);
  if (name == "first") return Value::Bool(index_ == 0);
  if (name == "last") return Value::Bool(index_ + 1 == n);
  if (name == "length") return Value::Int(length);
  if (name == "depth") return Value::Int(depth_);
  if (name == "depth0") return Value::Int(depth_ - 1);
  if (name == "previtem") {
    if (index_ == 0 || index_ > n) return Value::Undefined("there is no previous item");
    return items_[index_ - 1];
  }
  if (name == "nextitem") {
    if (index_ + 1 >= n) return Value::Undefined("there is no next item");
    return items_[index_ + 1];
  }
  if (name == "cycle") {
    return Value::FromCallable(
        std::make_shared<LoopMethod>(shared_from_this(), LoopMethod::Which::kCycle));
  }
  if (name == "changed") {
    return Value::FromCallable(
        std::make_shared<LoopMethod>(shared_from_this(), LoopMethod::Which::kChanged));
  }
  return Value::Undefined(fmt::format("'LoopContext' object has no attribute '{}'", name));
}

std::string LoopObject::Repr() const {
  return fmt::format("<LoopContext {}/{}>", index_ + 1, items_.size());
}

Value LoopObject::Cycle(Arguments& args) const {
  if (args.positional.empty()) RuntimeFail("no items for cycling given");
  return args.positional[index_ % args.positional.size()];
}

Value LoopObject::Changed(Arguments& args) {
  Value current = Value::NewTuple(args.positional);
  if (has_last_changed_ && Equals(current, last_changed_)) return Value::Bool(false);
  if (!finished_) {
    last_changed_ = std::move(current);
    has_last_changed_ = true;
  }
  return Value::Bool(true);
}

Value LoopObject::Recurse(Interpreter& in, Arguments& args) const {
  if (!stmt_.recursive) {
    RuntimeFail("the loop must be marked 'recursive' to be called");
  }
  if (args.positional.size() != 1 || !args.keyword.empty()) {
    RuntimeFail("loop() takes exactly one argument, the items to loop over");
  }
  ScopePtr scope = scope_.lock();
  if (!scope) RuntimeFail("a recursive loop cannot be called after it has finished");
  return Value::String(in.CaptureLoop(stmt_, scope, in.Iterate(args.positional[0]), depth_ + 1));
}

}  // namespace kiln::jinja

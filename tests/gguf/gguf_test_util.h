// Helpers shared by the GGUF tests: a scratch directory and deep comparison of metadata values.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "kiln/gguf/value.h"

namespace kiln::gguf::testing {

// A fresh directory under the system temp directory, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            (std::string("kiln-") + info->test_suite_name() + "-" + info->name() + "-" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string File(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> Entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) {
      out.push_back(e.path().filename().string());
    }
    return out;
  }

 private:
  std::filesystem::path path_;
};

inline std::vector<std::uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Same type and same contents, recursively; NaNs compare equal to NaNs (bit-exact round trips).
inline ::testing::AssertionResult SameValue(const Value& a, const Value& b) {
  if (a.type() != b.type()) {
    return ::testing::AssertionFailure()
           << "type " << NameOf(a.type()) << " != " << NameOf(b.type());
  }
  if (a.is_array()) {
    const Array& x = a.AsArray();
    const Array& y = b.AsArray();
    if (x.element_type != y.element_type) {
      return ::testing::AssertionFailure()
             << "element type " << NameOf(x.element_type) << " != " << NameOf(y.element_type);
    }
    if (x.items.size() != y.items.size()) {
      return ::testing::AssertionFailure()
             << "array size " << x.items.size() << " != " << y.items.size();
    }
    for (std::size_t i = 0; i < x.items.size(); ++i) {
      auto r = SameValue(x.items[i], y.items[i]);
      if (!r) return ::testing::AssertionFailure() << "item " << i << ": " << r.message();
    }
    return ::testing::AssertionSuccess();
  }
  if (a.type() == ValueType::kFloat32 || a.type() == ValueType::kFloat64) {
    double x = a.AsDouble(), y = b.AsDouble();
    if ((std::isnan(x) && std::isnan(y)) || x == y) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << x << " != " << y;
  }
  bool equal = std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Array>) {
          return false;  // handled above
        } else {
          return x == std::get<T>(b.storage());
        }
      },
      a.storage());
  if (equal) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a.ToDisplayString() << " != " << b.ToDisplayString();
}

}  // namespace kiln::gguf::testing

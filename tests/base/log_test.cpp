#include "kiln/base/log.h"

#include <gtest/gtest.h>

namespace kiln::log {
namespace {

TEST(LogTest, WritesStructuredLineWithQuotedValues) {
  testing::internal::CaptureStderr();
  Info("model loaded", {{"path", "/tmp/a b.gguf"}, {"tensors", 42}});
  std::string out = testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("level=info msg=\"model loaded\" path=\"/tmp/a b.gguf\" tensors=42\n"),
            std::string::npos)
      << out;
}

TEST(LogTest, LevelsBelowMinimumAreDropped) {
  SetMinLevel(Level::kWarn);
  testing::internal::CaptureStderr();
  Info("hidden");
  Warn("shown");
  std::string out = testing::internal::GetCapturedStderr();
  SetMinLevel(Level::kInfo);
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("msg=shown"), std::string::npos);
}

}  // namespace
}  // namespace kiln::log

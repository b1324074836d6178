#include "kiln/base/mapped_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "kiln/base/error.h"

namespace kiln {
namespace {

TEST(MappedFileTest, MapsWholeFileContents) {
  auto path = std::filesystem::temp_directory_path() / "kiln_mapped_file_test.bin";
  {
    std::ofstream out(path, std::ios::binary);
    out << "hello kiln";
  }
  MappedFile map(path.string());
  ASSERT_EQ(map.bytes().size(), 10u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(map.bytes().data()), 10), "hello kiln");
  MappedFile moved = std::move(map);
  EXPECT_EQ(moved.bytes().size(), 10u);
  EXPECT_EQ(map.bytes().size(), 0u);
  std::filesystem::remove(path);
}

TEST(MappedFileTest, MissingFileIsErrorNamingIt) {
  try {
    MappedFile map("/nonexistent/model.gguf");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

TEST(MappedFileTest, DirectoryIsRejected) {
  EXPECT_THROW(MappedFile("/tmp"), Error);
}

}  // namespace
}  // namespace kiln

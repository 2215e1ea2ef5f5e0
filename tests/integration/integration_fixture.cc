#include "tests/integration/integration_fixture.h"

#include <fstream>

namespace nasd::integration {

void NasdTest::write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << "writing " << path;
}

struct stat NasdTest::stat_of(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(0, ::lstat(path.c_str(), &st)) << path;
  return st;
}

}  // namespace nasd::integration

#include "engine/path.h"

#include <gtest/gtest.h>

namespace runlog::engine {
namespace {

TEST(PathTest, ValidPathsPass) {
  for (std::string_view p : {"a", "params/lr", "sys/tags", "a/b/c/d", "ünïcödé/日本/😀",
                             "with space/and-dash_underscore.dot"}) {
    EXPECT_TRUE(ValidatePath(p).ok()) << p;
  }
  EXPECT_TRUE(ValidatePath(std::string(kMaxPathBytes, 'x')).ok());
}

TEST(PathTest, EmptyComponentsAreInvalid) {
  for (std::string_view p : {"", "/a", "a/", "a//b", "/"}) {
    Status s = ValidatePath(p);
    EXPECT_TRUE(s.Is(Code::kInvalidPath)) << p;
  }
  EXPECT_NE(ValidatePath("a//b").message().find("empty component"), std::string::npos);
}

TEST(PathTest, OverlongPathsAreInvalidWithTheirLength) {
  Status s = ValidatePath(std::string(kMaxPathBytes + 1, 'x'));
  EXPECT_TRUE(s.Is(Code::kInvalidPath));
  EXPECT_NE(s.message().find("1025 bytes"), std::string::npos) << s.message();
}

TEST(PathTest, BadUtf8IsInvalidWithItsOffset) {
  for (std::string p : {std::string("a/\xff"), std::string("a/\xc3"), std::string("\xc0\xaf"),
                        std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80")}) {
    Status s = ValidatePath(p);
    EXPECT_TRUE(s.Is(Code::kInvalidPath)) << EscapePath(p);
    EXPECT_NE(s.message().find("bad UTF-8"), std::string::npos) << s.message();
  }
  EXPECT_NE(ValidatePath("ab/\xff").message().find("byte 3"), std::string::npos);
}

TEST(PathTest, ControlCharactersAreInvalidAndEscapedInTheMessage) {
  for (std::string p : {std::string("a\nb"), std::string("a\tb"), std::string("a\x7f"),
                        std::string("a\xc2\x85"), std::string("a\0b", 3)}) {
    Status s = ValidatePath(p);
    EXPECT_TRUE(s.Is(Code::kInvalidPath)) << EscapePath(p);
    EXPECT_NE(s.message().find("control character"), std::string::npos);
    EXPECT_EQ(s.message().find('\n'), std::string::npos);
  }
  EXPECT_NE(ValidatePath("a\nb").message().find("a\\x0ab"), std::string::npos);
}

TEST(PathTest, SplitJoinAndPrefixes) {
  EXPECT_EQ(SplitPath("a/b/c"), (std::vector<std::string_view>{"a", "b", "c"}));
  EXPECT_EQ(JoinPath("params", "lr"), "params/lr");
  EXPECT_EQ(JoinPath("", "lr"), "lr");
  EXPECT_TRUE(PathIsUnder("a/b", "a"));
  EXPECT_TRUE(PathIsUnder("a", "a"));
  EXPECT_FALSE(PathIsUnder("ab", "a"));
}

}  // namespace
}  // namespace runlog::engine

// The structural rules of the data model, on the schema both the API and the commit use.
#include "engine/schema.h"

#include <gtest/gtest.h>

namespace runlog::engine {
namespace {

Field Write(Schema& s, std::string_view path, FieldType type) {
  auto t = s.CheckWrite(path, type);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return {};
  return t->create ? s.Create(path, type) : t->field;
}

TEST(SchemaTest, ATypeIsFixedByTheFirstWrite) {
  Schema s;
  Field f = Write(s, "parameters/momentum", FieldType::Float);
  auto again = s.CheckWrite("parameters/momentum", FieldType::Float);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->create);
  EXPECT_EQ(again->field.id, f.id);
  auto file = s.CheckWrite("parameters/momentum", FieldType::File);
  ASSERT_TRUE(file.status().Is(Code::kTypeMismatch));
  EXPECT_EQ(file.status().message(), "parameters/momentum is Float, not File");
  EXPECT_EQ(s.Find("parameters/momentum")->type, FieldType::Float);
  // Another field in the same namespace is fine.
  EXPECT_TRUE(s.CheckWrite("parameters/momentum_file", FieldType::File).ok());
}

TEST(SchemaTest, IntWidensIntoFloatButNotTheOtherWay) {
  Schema s;
  Write(s, "lr", FieldType::Float);
  EXPECT_TRUE(s.CheckWrite("lr", FieldType::Int).ok());
  Write(s, "batch", FieldType::Int);
  auto r = s.CheckWrite("batch", FieldType::Float);
  EXPECT_TRUE(r.status().Is(Code::kTypeMismatch));
  EXPECT_EQ(r.status().message(), "batch is Int, not Float");
}

TEST(SchemaTest, EveryPairOfDifferentTypesIsAMismatchExceptTheWidening) {
  const FieldType all[] = {FieldType::Float,        FieldType::Int,        FieldType::Bool,
                           FieldType::String,       FieldType::Datetime,   FieldType::FloatSeries,
                           FieldType::StringSeries, FieldType::FileSeries, FieldType::StringSet,
                           FieldType::File,         FieldType::FileSet,    FieldType::Artifact};
  for (FieldType a : all) {
    Schema s;
    Write(s, "x", a);
    for (FieldType b : all) {
      bool ok = s.CheckWrite("x", b).ok();
      EXPECT_EQ(ok, a == b || (a == FieldType::Float && b == FieldType::Int))
          << FieldTypeName(a) << " <- " << FieldTypeName(b);
    }
  }
}

TEST(SchemaTest, AFieldUnderAFieldOrAtANamespaceIsAPathConflict) {
  Schema s;
  Write(s, "params/lr", FieldType::Float);
  auto under = s.CheckWrite("params/lr/x", FieldType::Int);
  EXPECT_TRUE(under.status().Is(Code::kPathConflict));
  EXPECT_NE(under.status().message().find("params/lr is a Float field"), std::string::npos);
  auto at_ns = s.CheckWrite("params", FieldType::String);
  EXPECT_TRUE(at_ns.status().Is(Code::kPathConflict));
  EXPECT_NE(at_ns.status().message().find("namespace"), std::string::npos);
}

TEST(SchemaTest, DeleteFreesAFieldOrANamespaceForAnyTypeWithNewIds) {
  Schema s;
  Field lr = Write(s, "params/lr", FieldType::Float);
  Write(s, "params/opt/name", FieldType::String);
  Write(s, "other", FieldType::Int);
  auto removed = s.Delete("params");
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(removed[0].first, "params/lr");
  EXPECT_EQ(removed[1].first, "params/opt/name");
  EXPECT_FALSE(s.IsNamespace("params"));
  EXPECT_FALSE(s.IsNamespace("params/opt"));
  EXPECT_EQ(s.field_count(), 1u);
  // The path is free for any type, even the namespace itself as a field.
  Field again = Write(s, "params/lr", FieldType::FileSeries);
  EXPECT_GT(again.id, lr.id);
  s.Delete("params/lr");
  Field p = Write(s, "params", FieldType::Bool);
  EXPECT_GT(p.id, again.id);
  EXPECT_TRUE(s.Delete("nothing/here").empty());
  EXPECT_EQ(s.Delete("params").size(), 1u);
}

TEST(SchemaTest, TheFieldLimitCountsFieldsAndADeleteMakesRoom) {
  Schema s;  // 9000 by default
  for (int i = 0; i < 9000; ++i) Write(s, "f/" + std::to_string(i), FieldType::Int);
  auto over = s.CheckWrite("f/9000", FieldType::Int);
  ASSERT_TRUE(over.status().Is(Code::kFieldLimitExceeded));
  EXPECT_NE(over.status().message().find("9000"), std::string::npos);
  // Writing existing fields still works at the limit.
  EXPECT_TRUE(s.CheckWrite("f/1", FieldType::Int).ok());
  s.Delete("f/17");
  EXPECT_TRUE(s.CheckWrite("f/9000", FieldType::Int).ok());
}

TEST(SchemaTest, InvalidPathsAreRejectedBeforeAnythingElse) {
  Schema s;
  EXPECT_TRUE(s.CheckWrite("a//b", FieldType::Int).status().Is(Code::kInvalidPath));
  EXPECT_TRUE(s.CheckWrite("", FieldType::Int).status().Is(Code::kInvalidPath));
}

TEST(SchemaTest, RestoredFieldsKeepTheirIdsAndNewOnesComeAfter) {
  Schema s;
  s.Restore("a/b", Field{41, FieldType::Float});
  s.set_next_id(50);
  EXPECT_TRUE(s.IsNamespace("a"));
  EXPECT_EQ(s.Find("a/b")->id, 41u);
  EXPECT_EQ(Write(s, "c", FieldType::Int).id, 50u);
}

}  // namespace
}  // namespace runlog::engine

// The contract of store.h, checked the same way against every system of runlog-compare: a
// baseline that loses, reorders or mixes up points would make every ratio meaningless.
#include "bench/compare/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/util/temp_dir.h"

namespace runlog::compare {
namespace {

struct SystemCase {
  const char* name;
  std::unique_ptr<System> (*make)();
};

const SystemCase kSystems[] = {
    {"runlog", MakeRunlogSystem},        {"jsonl_queue", MakeJsonlQueueSystem},
    {"sqlite_ops", MakeSqliteOpsSystem}, {"sqlite_rows", MakeSqliteRowsSystem},
    {"tfrecord", MakeTfrecordSystem},    {"rocksdb_per_point", MakeRocksdbPerPointSystem},
};

Point P(int64_t step, double value) {
  return Point{.step = step, .value = value, .timestamp_us = 1'700'000'000'000'000 + step * 10};
}

class StoreContract : public testing::TestWithParam<SystemCase> {
 protected:
  void SetUp() override { system_ = GetParam().make(); }
  std::unique_ptr<System> system_;
  runlog::test::TempDir dir_;
};

void ExpectPoints(const std::vector<Point>& got, int64_t from, int64_t to,
                  const std::function<double(int64_t)>& value) {
  ASSERT_EQ(got.size(), static_cast<size_t>(to - from));
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].step, from + static_cast<int64_t>(i));
    EXPECT_EQ(got[i].value, value(got[i].step)) << "step " << got[i].step;
    EXPECT_EQ(got[i].timestamp_us, P(got[i].step, 0).timestamp_us) << "step " << got[i].step;
  }
}

TEST_P(StoreContract, NameMatches) {
  EXPECT_EQ(system_->name(), GetParam().name);
  EXPECT_FALSE(system_->settings().empty());
}

TEST_P(StoreContract, WritesReadBackFromWriterAndReader) {
  {
    std::unique_ptr<Store> w = system_->Create(dir_.path(), "run-1", {});
    w->AssignFloat("params/lr", 0.125);
    w->AssignInt("params/batch", 64);
    w->AssignString("params/optimizer", "adam");
    for (int64_t s = 0; s < 100; ++s) w->LogFloat("metrics/loss", P(s, 1.0 / (s + 1)));
    std::vector<Point> bulk;
    for (int64_t s = 0; s < 5000; ++s) bulk.push_back(P(s, s * 0.5));
    w->LogFloats("metrics/acc", std::span<const Point>(bulk).first(2500));
    w->LogFloats("metrics/acc", std::span<const Point>(bulk).subspan(2500));
    w->LogString("text/sample", 3, "hello", P(3, 0).timestamp_us);
    w->AddStrings("tags", std::vector<std::string>{"a", "b"});
    w->Flush();
    ExpectPoints(w->ReadSeries("metrics/loss", 0, 100), 0, 100,
                 [](int64_t s) { return 1.0 / (s + 1); });
    EXPECT_EQ(w->ReadLast("metrics/acc").step, 4999);
    EXPECT_EQ(w->ReadFloat("params/lr"), 0.125);
  }
  std::unique_ptr<Store> r = system_->Open(dir_.path(), "run-1");
  ExpectPoints(r->ReadSeries("metrics/acc", 1000, 2000), 1000, 2000,
               [](int64_t s) { return s * 0.5; });
  ExpectPoints(r->ReadSeries("metrics/acc", 0, 5000), 0, 5000, [](int64_t s) { return s * 0.5; });
  ExpectPoints(r->ReadSeries("metrics/acc", 4990, 1 << 30), 4990, 5000,
               [](int64_t s) { return s * 0.5; });
  EXPECT_TRUE(r->ReadSeries("metrics/acc", 6000, 7000).empty());
  Point last = r->ReadLast("metrics/loss");
  EXPECT_EQ(last.step, 99);
  EXPECT_EQ(last.value, 0.01);
  EXPECT_EQ(last.timestamp_us, P(99, 0).timestamp_us);
  EXPECT_EQ(r->ReadFloat("params/lr"), 0.125);
}

TEST_P(StoreContract, MissingFieldsThrow) {
  {
    std::unique_ptr<Store> w = system_->Create(dir_.path(), "run-1", {});
    w->LogFloat("metrics/loss", P(0, 1));
    w->Flush();
  }
  std::unique_ptr<Store> r = system_->Open(dir_.path(), "run-1");
  EXPECT_ANY_THROW(r->ReadLast("metrics/none"));
  EXPECT_ANY_THROW(r->ReadFloat("params/none"));
  EXPECT_TRUE(r->ReadSeries("metrics/none", 0, 10).empty());
}

TEST_P(StoreContract, RunsInOneDirectoryStayApart) {
  for (int run = 0; run < 3; ++run) {
    std::unique_ptr<Store> w = system_->Create(dir_.path(), "run-" + std::to_string(run), {});
    w->AssignFloat("params/lr", run);
    for (int64_t s = 0; s < 10; ++s) w->LogFloat("m", P(s, run * 100 + s));
    w->Flush();
  }
  for (int run = 0; run < 3; ++run) {
    std::unique_ptr<Store> r = system_->Open(dir_.path(), "run-" + std::to_string(run));
    EXPECT_EQ(r->ReadFloat("params/lr"), run);
    ExpectPoints(r->ReadSeries("m", 0, 10), 0, 10, [run](int64_t s) { return run * 100.0 + s; });
  }
}

TEST_P(StoreContract, SyncedWritesFromManyThreads) {
  constexpr int kThreads = 4;
  constexpr int64_t kPoints = 50;
  {
    std::unique_ptr<Store> w = system_->Create(
        dir_.path(), "run-1", {.durability = Durability::kSynced, .writer_threads = kThreads});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const std::string path = "metrics/t" + std::to_string(t);
        for (int64_t s = 0; s < kPoints; ++s) w->LogFloat(path, P(s, t * 1000 + s));
      });
    }
    for (std::thread& th : threads) th.join();
    w->Flush();
  }
  std::unique_ptr<Store> r = system_->Open(dir_.path(), "run-1");
  for (int t = 0; t < kThreads; ++t) {
    ExpectPoints(r->ReadSeries("metrics/t" + std::to_string(t), 0, kPoints), 0, kPoints,
                 [t](int64_t s) { return t * 1000.0 + s; });
  }
}

std::string SystemName(const testing::TestParamInfo<SystemCase>& param) {
  return param.param.name;
}

INSTANTIATE_TEST_SUITE_P(Systems, StoreContract, testing::ValuesIn(kSystems), SystemName);

}  // namespace
}  // namespace runlog::compare

#include <gtest/gtest.h>

#include <random>

#include "core/plan/memory_plan.h"

using namespace trtorch::plan;

namespace {

// No two buffers live at the same step may overlap in memory.
void expect_valid(const std::vector<BufferRequest>& rs, const MemoryPlan& p, size_t align) {
  ASSERT_EQ(p.offsets.size(), rs.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(p.offsets[i] % align, 0u);
    EXPECT_LE(p.offsets[i] + rs[i].bytes, p.total);
    for (size_t j = i + 1; j < rs.size(); ++j) {
      bool time_overlap = !(rs[i].last < rs[j].first || rs[j].last < rs[i].first);
      bool mem_overlap = p.offsets[i] < p.offsets[j] + rs[j].bytes && p.offsets[j] < p.offsets[i] + rs[i].bytes;
      EXPECT_FALSE(time_overlap && mem_overlap && rs[i].bytes && rs[j].bytes) << i << " and " << j;
    }
  }
}

TEST(MemoryPlan, ChainReusesMemory) {
  // A chain a -> b -> c -> d: each buffer dies when the next is made.
  std::vector<BufferRequest> rs{{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}};
  auto p = plan_memory(rs, 256);
  expect_valid(rs, p, 256);
  EXPECT_EQ(p.total, 2 * 1024u);  // two buffers of 1024 (aligned) ping-pong
}

TEST(MemoryPlan, RandomLifetimesAreNeverOverlapping) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferRequest> rs;
    size_t sum = 0;
    for (int i = 0; i < 60; ++i) {
      int a = int(rng() % 40), b = a + int(rng() % 10);
      size_t bytes = 1 + rng() % 5000;
      rs.push_back({bytes, a, b});
      sum += (bytes + 255) / 256 * 256;
    }
    auto p = plan_memory(rs, 256);
    expect_valid(rs, p, 256);
    EXPECT_LE(p.total, sum);
  }
}

}  // namespace

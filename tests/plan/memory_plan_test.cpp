#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "core/plan/memory_plan.h"
#include "core/util/error.h"

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

TEST(MemoryPlan, HugeButRepresentableSizesArePlanned) {
  const size_t half = size_t(1) << 62;
  std::vector<BufferRequest> rs{{half, 0, 1}, {half, 0, 1}};
  auto p = plan_memory(rs, 256);
  EXPECT_EQ(p.total, size_t(1) << 63);
  EXPECT_NE(p.offsets[0], p.offsets[1]);
}

TEST(MemoryPlan, AlignmentNearSizeMaxIsAnError) {
  // Rounding SIZE_MAX - 10 up to 256 used to wrap around to a 0-byte buffer.
  std::vector<BufferRequest> rs{{SIZE_MAX - 10, 0, 1}};
  try {
    plan_memory(rs, 256);
    FAIL() << "expected an overflow error";
  } catch (const trtorch::Error& e) {
    EXPECT_NE(std::string(e.what()).find("overflows"), std::string::npos) << e.what();
  }
}

TEST(MemoryPlan, ArenaSumPastSizeMaxIsAnError) {
  // Two live buffers of 2^63 bytes: the second one's end (2^64) used to wrap to 0.
  const size_t big = size_t(1) << 63;
  std::vector<BufferRequest> rs{{big, 0, 2}, {big, 1, 3}};
  EXPECT_THROW(plan_memory(rs, 256), trtorch::Error);
}

}  // namespace

#include "core/plan/memory_plan.h"

#include <algorithm>
#include <numeric>

#include "core/ir/sizes.h"
#include "core/util/error.h"

namespace trtorch::plan {

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, size_t alignment) {
  TRTORCH_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0, "alignment must be a power of two");
  // Sizes near SIZE_MAX (a corrupt engine, a huge dynamic range) must fail, not wrap around.
  auto align = [&](size_t v) { return ir::checked_align_up(v, alignment, "memory plan: buffer"); };
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
    return requests[a].first < requests[b].first;
  });
  std::vector<size_t> placed;
  for (size_t idx : order) {
    const BufferRequest& r = requests[idx];
    TRTORCH_CHECK(r.first <= r.last, "buffer live range is empty");
    size_t size = align(std::max<size_t>(r.bytes, 1));
    // Occupied intervals of the buffers live at the same time, by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t p : placed) {
      const BufferRequest& q = requests[p];
      if (q.last < r.first || r.last < q.first) continue;
      busy.emplace_back(plan.offsets[p], plan.offsets[p] + align(std::max<size_t>(q.bytes, 1)));  // placed: fits
    }
    std::sort(busy.begin(), busy.end());
    size_t at = 0;
    for (const auto& [lo, hi] : busy) {
      if (at <= lo && size <= lo - at) break;
      at = std::max(at, hi);
    }
    const size_t end = ir::checked_add_size(at, size, "memory plan: arena");
    plan.offsets[idx] = at;
    plan.total = std::max(plan.total, end);
    placed.push_back(idx);
  }
  return plan;
}

}  // namespace trtorch::plan

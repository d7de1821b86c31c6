// Static memory planning: every intermediate tensor gets an offset in one arena, sized at build
// time; tensors whose lifetimes do not overlap share memory.
#pragma once

#include <cstddef>
#include <vector>

namespace trtorch::plan {

struct BufferRequest {
  size_t bytes = 0;
  int first = 0, last = 0;  // live from step `first` to step `last`, inclusive
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per request
  size_t total = 0;             // arena size
};

// Places the largest buffers first, each at the lowest offset that no buffer live at the same
// time occupies. Offsets are multiples of `alignment`.
MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, size_t alignment = 256);

}  // namespace trtorch::plan

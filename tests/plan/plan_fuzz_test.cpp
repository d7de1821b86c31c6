// Mutation fuzzer for the engine deserializer.
//
// Deterministic (seed TRTORCH_FUZZ_SEED, default fixed) and time-bounded (TRTORCH_FUZZ_SECONDS,
// default 20). Mutates a corpus of valid engines, re-seals the header so that most mutations reach
// the payload parser, and feeds both deserialize() and deserialize_payload(). Every outcome must
// be success or trtorch::Error; an engine that loads must serialize and load again to the same bytes.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "core/plan/backend.h"
#include "core/plan/memory_plan.h"
#include "core/util/debug.h"
#include "core/util/error.h"
#include "tests/plan/engines.h"

using namespace trtorch;
using namespace trtorch::plan;
using namespace trtorch::plan::fixtures;

namespace {

double env_double(util::DebugSwitch s, double fallback) {
  const std::string v = util::debug_switch_value(s);
  return v.empty() ? fallback : std::atof(v.c_str());
}

struct Rng {  // splitmix64
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n ? size_t(next() % n) : 0; }
  bool chance(int one_in) { return below(size_t(one_in)) == 0; }
};

constexpr uint64_t kInteresting[] = {0,          1,           2,           8,          0x7f,
                                     0x80,       0xff,        0x100,       0x7fff,     0xffff,
                                     0x7fffffff, 0x80000000u, 0xffffffffu, 1ull << 32, 0x7fffffffffffffffull,
                                     1ull << 63, ~0ull,       ~1ull,       4096,       32};

// Position to mutate: mostly in the payload, sometimes in the header.
size_t pick_pos(Rng& rng, const std::vector<uint8_t>& b) {
  if (b.size() > kHeaderSize && !rng.chance(16)) return kHeaderSize + rng.below(b.size() - kHeaderSize);
  return rng.below(b.size());
}

void mutate(Rng& rng, std::vector<uint8_t>& b, const std::vector<std::vector<uint8_t>>& corpus) {
  if (b.empty()) {
    b.push_back(uint8_t(rng.next()));
    return;
  }
  switch (rng.below(9)) {
    case 0: {  // flip a bit
      b[pick_pos(rng, b)] ^= uint8_t(1u << rng.below(8));
      break;
    }
    case 1: {  // random byte
      b[pick_pos(rng, b)] = uint8_t(rng.next());
      break;
    }
    case 2: {  // insert bytes
      size_t at = pick_pos(rng, b), n = 1 + rng.below(8);
      std::vector<uint8_t> ins(n);
      for (auto& x : ins) x = uint8_t(rng.next());
      b.insert(b.begin() + long(at), ins.begin(), ins.end());
      break;
    }
    case 3: {  // delete a range
      size_t at = pick_pos(rng, b), n = std::min(b.size() - at, 1 + rng.below(16));
      b.erase(b.begin() + long(at), b.begin() + long(at + n));
      break;
    }
    case 4: {  // truncate
      b.resize(rng.below(b.size()));
      break;
    }
    case 5:
    case 6: {  // overwrite an integer with an interesting value
      static constexpr size_t kWidths[] = {1, 2, 4, 8};
      size_t width = kWidths[rng.below(4)];
      size_t at = pick_pos(rng, b);
      uint64_t v = kInteresting[rng.below(sizeof(kInteresting) / sizeof(kInteresting[0]))];
      if (rng.chance(4)) v += rng.below(3) - 1;  // off by one
      for (size_t i = 0; i < width && at + i < b.size(); ++i) b[at + i] = uint8_t(v >> (8 * i));
      break;
    }
    case 7: {  // copy a chunk over another place
      size_t from = rng.below(b.size()), to = pick_pos(rng, b);
      size_t n = std::min({b.size() - from, b.size() - to, 1 + rng.below(32)});
      std::vector<uint8_t> chunk(b.begin() + long(from), b.begin() + long(from + n));
      std::copy(chunk.begin(), chunk.end(), b.begin() + long(to));
      break;
    }
    case 8: {  // splice with another engine
      const auto& other = corpus[rng.below(corpus.size())];
      size_t keep = pick_pos(rng, b), from = rng.below(other.size());
      b.resize(keep);
      b.insert(b.end(), other.begin() + long(from), other.end());
      break;
    }
  }
}

// The first words of an error message, to show which checks the fuzzer reaches.
std::string category(const std::string& msg) {
  size_t end = msg.find_first_of(":(0123456789");
  std::string c = msg.substr(0, std::min<size_t>(end, 48));
  while (!c.empty() && c.back() == ' ') c.pop_back();
  return c;
}

std::string hex(const std::vector<uint8_t>& b) {
  std::string s;
  char buf[4];
  for (uint8_t x : b) {
    std::snprintf(buf, sizeof(buf), "%02x", x);
    s += buf;
  }
  return s;
}

// Runs an engine that loaded on the reference backend, as a saved module's engine is run after
// torch.jit.load: at its inputs' smallest shapes, with inputs of small random values (integers in
// [-4, 8), so that index inputs are out of range at times). Engines whose values would take more
// than 64 MiB at those shapes are not run. Returns false when the engine was not run.
bool run_on_reference(std::shared_ptr<const Engine> e, Rng& rng) {
  if (e->device.type != DeviceType::kReference) return false;
  std::vector<Shape> shapes;
  std::vector<ir::DType> dtypes;
  for (const Value* v : e->graph->inputs()) {
    Shape s;
    for (const Dim& d : v->type.dims) s.push_back(d.min);
    shapes.push_back(s);
    dtypes.push_back(v->type.dtype);
  }
  check_inputs(*e, dtypes, shapes);
  auto g = ir::is_dynamic(*e->graph) ? ir::specialize(*e->graph, shapes) : nullptr;
  const ir::Graph& sg = g ? *g : *e->graph;
  uint64_t total = 0;
  for (const Node* n : sg.nodes())
    for (const Value* o : n->outputs) total += uint64_t(try_bytes(o->type.static_shape(), o->type.dtype).value_or(1ll << 40));
  if (total > (64u << 20)) return false;
  auto ex = make_executor(e);
  std::vector<ir::HostTensor> ins;
  std::vector<const void*> in_ptrs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    ins.emplace_back(dtypes[i], shapes[i]);
    for (int64_t j = 0; j < ins.back().numel(); ++j)
      ins.back().set(j, ir::is_floating(dtypes[i]) ? double(int64_t(rng.below(2001)) - 1000) / 250.0
                                                    : double(int64_t(rng.below(12)) - 4));
    in_ptrs.push_back(ins.back().data());
  }
  std::vector<ir::HostTensor> outs;
  std::vector<void*> out_ptrs;
  const std::vector<Shape> out_shapes = ex->output_shapes(shapes);
  for (size_t i = 0; i < out_shapes.size(); ++i) {
    outs.emplace_back(e->graph->outputs()[i]->type.dtype, out_shapes[i]);
    out_ptrs.push_back(outs.back().data());  // the bytes live in a shared buffer: stable
  }
  std::vector<uint8_t> ws(ex->workspace_size(shapes));
  ex->execute(in_ptrs, shapes, out_ptrs, ws.data(), nullptr);
  return true;
}

struct Stats {
  uint64_t runs = 0, loaded = 0, executed = 0;
  std::map<std::string, uint64_t> errors;
  std::vector<std::string> failures;
};

// Runs one parse; anything but success or trtorch::Error is a failure.
template <typename F>
void run_one(Stats& st, const std::vector<uint8_t>& input, const char* entry, F&& parse, Rng* run_rng = nullptr) {
  ++st.runs;
  auto fail = [&](const std::string& what) {
    if (st.failures.size() < 5) st.failures.push_back(str_cat(entry, ": ", what, "\n  input: ", hex(input)));
  };
  try {
    Engine e = parse();
    ++st.loaded;
    // A loaded engine is valid: it serializes, and loads back to the same bytes.
    std::vector<uint8_t> again = serialize(e);
    if (serialize(deserialize(again)) != again) fail("re-serialized engine differs");
    // Every value fits in memory at its largest, and planning all of them at once is an answer or
    // a trtorch::Error (sums past SIZE_MAX), never a wrapped-around arena.
    std::vector<BufferRequest> reqs;
    for (Node* n : e.graph->nodes())
      for (Value* o : n->outputs) {
        std::vector<int64_t> largest;
        for (const Dim& d : o->type.dims) largest.push_back(d.max);
        const std::optional<int64_t> bytes = try_bytes(largest, o->type.dtype);
        if (!bytes) fail(str_cat("loaded engine has a value of type ", o->type.str(), " too large to hold"));
        reqs.push_back({size_t(bytes.value_or(0)), 0, 0});
      }
    plan_memory(reqs, 256);
    // It runs, or fails with a trtorch::Error (as when a saved module's engine is loaded and run).
    if (run_rng && run_on_reference(std::make_shared<const Engine>(std::move(e)), *run_rng)) ++st.executed;
  } catch (const Error& e) {
    ++st.errors[category(e.what())];
  } catch (const std::exception& e) {
    fail(str_cat("exception other than trtorch::Error: ", typeid(e).name(), ": ", e.what()));
  } catch (...) {
    fail("non-standard exception");
  }
}

}  // namespace

TEST(PlanFuzz, DeserializerOnlySucceedsOrThrowsError) {
  const double seconds = env_double(util::DebugSwitch::kFuzzSeconds, 20.0);
  const uint64_t seed = uint64_t(env_double(util::DebugSwitch::kFuzzSeed, 20240601));
  const auto corpus = fixtures::corpus();
  for (const auto& c : corpus) ASSERT_NO_THROW(deserialize(c));

  Rng rng{seed};
  Stats st;
  uint64_t iterations = 0;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  while (elapsed() < seconds && st.failures.empty()) {
    for (int batch = 0; batch < 16; ++batch, ++iterations) {
      std::vector<uint8_t> b = corpus[rng.below(corpus.size())];
      int n = 1 + int(rng.below(4));
      for (int i = 0; i < n; ++i) mutate(rng, b, corpus);
      if (!rng.chance(16)) reseal(b);
      run_one(st, b, "deserialize", [&] { return deserialize(b.data(), b.size()); }, &rng);
      if (b.size() >= kHeaderSize) {
        std::vector<uint8_t> payload(b.begin() + long(kHeaderSize), b.end());
        run_one(st, payload, "deserialize_payload",
                [&] { return deserialize_payload(payload.data(), payload.size()); });
      }
    }
  }
  const double secs = elapsed();
  std::printf("[plan_fuzz] seed %llu: %llu iterations (%llu parses, %llu loaded, %llu run on the reference backend) "
              "in %.1f s, %.0f iterations/s\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(iterations),
              static_cast<unsigned long long>(st.runs), static_cast<unsigned long long>(st.loaded),
              static_cast<unsigned long long>(st.executed), secs, double(iterations) / secs);
  std::vector<std::pair<uint64_t, std::string>> top;
  for (auto& [k, v] : st.errors) top.push_back({v, k});
  std::sort(top.rbegin(), top.rend());
  for (size_t i = 0; i < top.size() && i < 15; ++i)
    std::printf("[plan_fuzz]   %8llu  %s\n", static_cast<unsigned long long>(top[i].first), top[i].second.c_str());
  for (const auto& f : st.failures) ADD_FAILURE() << f;
  EXPECT_GT(iterations, 0u);
  EXPECT_GT(st.executed, 0u);  // the run step was reached
}

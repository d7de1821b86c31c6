// The one tactic string format of the CUDA backend (common/tactic.h: TacticFields) and a CUDA
// engine's backend data (executor/backend_data.h: options line, tactics, saved plans), on the CPU: both are
// written at build time and parsed strictly when an engine is loaded, so every malformed text
// must give a clear error instead of a wrong kernel.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/backends/cuda/common/tactic.h"
#include "core/backends/cuda/executor/backend_data.h"
#include "core/plan/engine.h"

namespace trtorch::backends::cuda {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TacticFields, FormatsAndParsesBack) {
  TacticFields f("cutlass.v1");
  f.add("dtype", "f16").add("M", 256).add("ws", 0).add("empty", "");
  const std::string text = f.format();
  EXPECT_EQ(text, "cutlass.v1;dtype=f16;M=256;ws=0;empty=");
  TacticFields g = TacticFields::parse(text);
  EXPECT_EQ(g.tag(), "cutlass.v1");
  EXPECT_EQ(g.fields(), f.fields());
  EXPECT_EQ(g.get("dtype"), "f16");
  EXPECT_EQ(g.get_int("M"), 256);
  EXPECT_EQ(g.get_uint("ws"), 0u);
  EXPECT_EQ(g.format(), text);
  g.expect_keys({"dtype", "M", "ws", "empty"});
}

TEST(TacticFields, RejectsMalformedText) {
  EXPECT_NE(error_of([] { TacticFields::parse("t;novalue"); }).find("'novalue' is not key=value"), std::string::npos);
  EXPECT_NE(error_of([] { TacticFields::parse("t;=1"); }).find("is not key=value"), std::string::npos);
  EXPECT_NE(error_of([] { TacticFields::parse("t;a=1;a=2"); }).find("field a appears twice"), std::string::npos);
  const TacticFields f = TacticFields::parse("t;a=1;b=x;c=-3");
  EXPECT_NE(error_of([&] { f.get("z"); }).find("field z is missing"), std::string::npos);
  EXPECT_NE(error_of([&] { f.get_int("b"); }).find("field b='x' is not a number"), std::string::npos);
  EXPECT_NE(error_of([&] { f.get_uint("c"); }).find("is not a number"), std::string::npos);
  EXPECT_EQ(f.get_int("c"), -3);
  EXPECT_NE(error_of([&] { f.expect_keys({"a", "b", "c", "d"}); }).find("field d is missing"), std::string::npos);
  EXPECT_NE(error_of([&] { f.expect_keys({"a", "b"}); }).find("unknown fields: c"), std::string::npos);
  // Writing guards: a value or key that would break the format is an internal error.
  EXPECT_NE(error_of([] { TacticFields("t").add("k", "a;b"); }).find("holds ';'"), std::string::npos);
  EXPECT_NE(error_of([] { TacticFields("t").add("k=", 1); }).find("bad tactic key"), std::string::npos);
  EXPECT_NE(error_of([] { TacticFields("t").add("k", 1).add("k", 2); }).find("added twice"), std::string::npos);
}

TEST(TacticFields, NumbersAreStrict) {
  uint64_t u = 0;
  int64_t i = 0;
  EXPECT_TRUE(parse_uint("ff", &u, 16));
  EXPECT_EQ(u, 255u);
  EXPECT_FALSE(parse_uint("0x10", &u, 16));
  EXPECT_FALSE(parse_uint("+1", &u));
  EXPECT_FALSE(parse_uint("18446744073709551616", &u));  // 2^64
  EXPECT_TRUE(parse_uint("18446744073709551615", &u));
  EXPECT_FALSE(parse_int(" 1", &i));
  EXPECT_FALSE(parse_int("-", &i));
  EXPECT_TRUE(parse_int("-42", &i));
  EXPECT_EQ(i, -42);
}

TEST(BackendData, RoundTripsOptionsAndTactics) {
  BackendData d;
  d.options.allow_tf32 = true;
  d.options.channels_last = false;
  d.options.cuda_graphs = false;
  d.options.conv_candidates = 3;
  d.tactics = {"", "cudnn-conv;v=1", ""};
  BackendData r = read_backend_data(write_backend_data(d), 3);
  EXPECT_EQ(r.options.str(), d.options.str());
  EXPECT_EQ(r.tactics, d.tactics);
  EXPECT_EQ(d.options.str(), "allow_tf32=1;channels_last=0;cuda_graphs=0;conv_candidates=3");
  // The timing-cache key holds what changes a choice, not cuda_graphs.
  EXPECT_EQ(d.options.choice_key().find("cuda_graphs"), std::string::npos);
  EXPECT_NE(d.options.choice_key().find("channels_last=0"), std::string::npos);
  // Timing caches of another convolution choice, or of another conv_runtime_compilation, are not
  // reused.
  EXPECT_NE(d.options.choice_key().find(";conv_choice=4"), std::string::npos);
  EngineOptions rc = d.options;
  rc.conv_runtime_compilation = 1;  // always
  EXPECT_NE(rc.choice_key(), d.options.choice_key());
  EXPECT_EQ(rc.str(), d.options.str());  // not part of the engine's options line
}

TEST(BackendData, RejectsMalformedOptions) {
  for (const char* bad : {"allow_tf32=0;channels_last=1;cuda_graphs=1",                     // missing key
                          "allow_tf32=0;channels_last=1;cuda_graphs=1;conv_candidates=6;x=1",  // unknown key
                          "allow_tf32=2;channels_last=1;cuda_graphs=1;conv_candidates=6",      // not a flag
                          "allow_tf32=0;channels_last=1;cuda_graphs=1;conv_candidates=17",     // out of range
                          "allow_tf32=0;allow_tf32=0;channels_last=1;cuda_graphs=1;conv_candidates=6", ""}) {
    const std::string err = error_of([&] { EngineOptions::parse(bad); });
    EXPECT_FALSE(err.empty()) << bad;
  }
  BackendData d;
  d.tactics = {"a", "b"};
  const auto bytes = write_backend_data(d);
  EXPECT_FALSE(error_of([&] { read_backend_data(bytes, 3); }).empty());  // wrong tactic count
  const std::string old = "trtorch-cuda-tactics v2\nallow_tf32=0\na\nb\n";
  EXPECT_NE(error_of([&] { read_backend_data(std::vector<uint8_t>(old.begin(), old.end()), 2); }).find("rebuild"),
            std::string::npos);
}

std::vector<uint8_t> bytes_of(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// Saved plans (binary, any bytes, newlines and NULs among them) round-trip after the tactics.
TEST(BackendData, SavedPlansRoundTrip) {
  BackendData d;
  d.tactics = {"cudnn-conv;v=1;a", "", "cudnn-conv;v=1;b"};
  d.plans["cudnn-conv;v=1;a"] = {0, '\n', 1, 255, '\n', '\n'};
  d.plans["cudnn-conv;v=1;b"] = {};
  const std::vector<uint8_t> bytes = write_backend_data(d);
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_EQ(text.substr(0, text.find('\n')), "trtorch-cuda-tactics v4");
  BackendData r = read_backend_data(bytes, 3);
  EXPECT_EQ(r.tactics, d.tactics);
  EXPECT_EQ(r.plans, d.plans);
  // Version 3 (no plans section) is still read: every line after the options is a tactic.
  BackendData v3 = read_backend_data(bytes_of("trtorch-cuda-tactics v3\n" + d.options.str() + "\nt0\n\n"), 2);
  EXPECT_EQ(v3.tactics, (std::vector<std::string>{"t0", ""}));
  EXPECT_TRUE(v3.plans.empty());
}

TEST(BackendData, MalformedSavedPlansAreErrors) {
  auto sum = [](const std::string& bytes) {
    return hex64(plan::fnv1a64(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  };
  const std::string head = "trtorch-cuda-tactics v4\n" + EngineOptions().str() + "\nt0\nt1\n";
  struct Case {
    std::string data, want;
  };
  for (const Case& c : std::vector<Case>{
           {head, "expected \"plans <0 to 2>\""},                              // no plans line
           {head + "plans 3\n", "expected \"plans <0 to 2>\""},               // more plans than nodes
           {head + "plans -1\n", "expected \"plans <0 to 2>\""},
           {head + "plans x\n", "expected \"plans <0 to 2>\""},
           {head + "plans 1\n", "lacks its tactic, byte count or checksum"},  // plan missing
           {head + "plans 1\nt0\n", "lacks its tactic, byte count or checksum"},
           {head + "plans 1\nt0\n-4 " + sum("") + "\n", "lacks its tactic, byte count or checksum"},
           {head + "plans 1\nt0\n1\na", "lacks its tactic, byte count or checksum"},  // no checksum
           {head + "plans 1\nt0\n1 12ab\na", "lacks its tactic, byte count or checksum"},
           {head + "plans 1\nt0\n10 " + sum("abc") + "\nabc", "a saved plan of 10 bytes where 3 remain"},
           {head + "plans 1\nt0\n1000000000000000000 " + sum("") + "\n", "where 0 remain"},
           {head + "plans 1\nt0\n3 " + sum("abd") + "\nabc", "does not match its checksum"},  // damaged
           {head + "plans 2\nt0\n1 " + sum("a") + "\nat0\n1 " + sum("b") + "\nb",
            "two plans for tactic \"t0\""},
           {head + "plans 1\nt0\n1 " + sum("a") + "\nab", "bytes after its saved plans"},
           {head + "plans 0\nx", "bytes after its saved plans"},
           {head + "plans 1\nt0", "ends inside a line"},
           {"trtorch-cuda-tactics v4\n" + EngineOptions().str() + "\nt0\n", "lists 1 tactics for 2 nodes"},
       }) {
    const std::string err = error_of([&] { read_backend_data(bytes_of(c.data), 2); });
    EXPECT_NE(err.find(c.want), std::string::npos) << "data: " << c.data << "\nerror: " << err;
  }
}

// Hostile backend data (a resealed engine reaches the parser with any bytes): random mutations of
// a valid v4 text with saved plans either parse, with every saved plan matching its checksum, or
// fail with trtorch::Error; nothing else escapes and nothing reads out of bounds.
TEST(BackendData, SurvivesMutatedBytes) {
  BackendData d;
  d.tactics = {"cudnn-conv;v=1;a", "", "rtc.v1;src=0123456789abcdef"};
  d.plans["cudnn-conv;v=1;a"] = std::vector<uint8_t>(40, 7);
  d.plans["rtc.v1;src=0123456789abcdef"] = {'\n', 0, 1, 2, '\n'};
  const std::vector<uint8_t> valid = write_backend_data(d);
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&](uint64_t n) {  // xorshift64*, deterministic
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (state * 2685821657736338717ull) % n;
  };
  size_t parsed = 0, refused = 0;
  for (int it = 0; it < 20000; ++it) {
    std::vector<uint8_t> b = valid;
    for (uint64_t m = 0, n = 1 + next(4); m < n; ++m) {
      switch (next(4)) {
        case 0: b[next(b.size())] = uint8_t(next(256)); break;                                  // change a byte
        case 1: b.resize(next(b.size() + 1)); break;                                             // truncate
        case 2: b.insert(b.begin() + std::ptrdiff_t(next(b.size() + 1)), uint8_t(next(256))); break;  // insert
        default: b[next(b.size())] = "\n 0123456789-"[next(13)]; break;                        // a likely byte
      }
      if (b.empty()) b.push_back('\n');
    }
    try {
      BackendData r = read_backend_data(b, 3);
      ASSERT_EQ(r.tactics.size(), 3u);
      for (const auto& [tactic, bytes] : r.plans) ASSERT_FALSE(tactic.empty());
      ++parsed;
    } catch (const Error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(parsed + refused, 20000u);
}

}  // namespace
}  // namespace trtorch::backends::cuda

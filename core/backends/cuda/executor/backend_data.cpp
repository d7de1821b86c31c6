// The CUDA engine's backend data: writing and strict parsing (see backend_data.h).
#include "core/backends/cuda/executor/backend_data.h"

#include <sstream>

#include "core/backends/cuda/common/tactic.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda {

namespace {

// The header line. v2 had the options line "allow_tf32=0|1" only; v3 records every option that
// changes the engine.
constexpr const char* kHeader = "trtorch-cuda-tactics v3";

// A boolean option's value: "0" or "1".
bool parse_flag(const std::string& line, const std::string& key, const std::string& value) {
  TRTORCH_EXPECT(value == "0" || value == "1", "the engine's CUDA build options line \"", line, "\": ", key,
                 " must be 0 or 1, got \"", value, "\"");
  return value == "1";
}

}  // namespace

std::string EngineOptions::str() const {
  return str_cat("allow_tf32=", int(allow_tf32), ";channels_last=", int(channels_last), ";cuda_graphs=",
                 int(cuda_graphs), ";conv_candidates=", conv_candidates);
}

std::string EngineOptions::choice_key() const {
  return str_cat("allow_tf32=", int(allow_tf32), ";channels_last=", int(channels_last), ";conv_candidates=",
                 conv_candidates);
}

EngineOptions EngineOptions::parse(const std::string& line) {
  EngineOptions o;
  bool tf32 = false, channels_last = false, graphs = false, candidates = false;  // seen
  for (const std::string& item : split(line, ';')) {
    const size_t eq = item.find('=');
    TRTORCH_EXPECT(eq != std::string::npos, "the engine's CUDA build options line \"", line, "\": \"", item,
                   "\" is not key=value: the engine is corrupt");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    bool* seen = key == "allow_tf32" ? &tf32
                 : key == "channels_last" ? &channels_last
                 : key == "cuda_graphs" ? &graphs
                 : key == "conv_candidates" ? &candidates
                                            : nullptr;
    TRTORCH_EXPECT(seen, "the engine's CUDA build options line \"", line, "\": unknown option \"", key,
                   "\" (an engine of a newer trtorch?)");
    TRTORCH_EXPECT(!*seen, "the engine's CUDA build options line \"", line, "\": ", key, " given twice");
    *seen = true;
    if (key == "allow_tf32") {
      o.allow_tf32 = parse_flag(line, key, value);
    } else if (key == "channels_last") {
      o.channels_last = parse_flag(line, key, value);
    } else if (key == "cuda_graphs") {
      o.cuda_graphs = parse_flag(line, key, value);
    } else {
      int64_t n = 0;
      TRTORCH_EXPECT(parse_int(value, &n) && n >= 1 && n <= 16, "the engine's CUDA build options line \"", line,
                     "\": conv_candidates must be 1 to 16, got \"", value, "\"");
      o.conv_candidates = int(n);
    }
  }
  TRTORCH_EXPECT(tf32 && channels_last && graphs && candidates, "the engine's CUDA build options line \"", line,
                 "\" lacks ", !tf32 ? "allow_tf32" : !channels_last ? "channels_last" : !graphs ? "cuda_graphs"
                                                                                                : "conv_candidates",
                 ": the engine is corrupt");
  return o;
}

std::vector<uint8_t> write_backend_data(const BackendData& d) {
  std::string s = str_cat(kHeader, "\n", d.options.str(), "\n");
  for (const std::string& t : d.tactics) {
    TRTORCH_CHECK(t.find('\n') == std::string::npos, "tactic strings must be one line");
    s += t + "\n";
  }
  return std::vector<uint8_t>(s.begin(), s.end());
}

BackendData read_backend_data(const std::vector<uint8_t>& data, size_t n_nodes) {
  std::istringstream is(std::string(data.begin(), data.end()));
  std::string line;
  TRTORCH_EXPECT(std::getline(is, line) && line == kHeader,
                 "the engine's CUDA backend data is missing or from another trtorch version (expected \"", kHeader,
                 "\"): rebuild the engine");
  TRTORCH_EXPECT(std::getline(is, line), "the engine's CUDA backend data lacks its build options line: the engine "
                 "is corrupt");
  BackendData d;
  d.options = EngineOptions::parse(line);
  while (std::getline(is, line)) d.tactics.push_back(line);
  TRTORCH_EXPECT(d.tactics.size() == n_nodes, "the engine's CUDA backend data lists ", d.tactics.size(),
                 " tactics for ", n_nodes, " nodes: the engine is corrupt");
  return d;
}

}  // namespace trtorch::backends::cuda

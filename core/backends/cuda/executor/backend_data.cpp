// The CUDA engine's backend data: writing and strict parsing (see backend_data.h).
#include "core/backends/cuda/executor/backend_data.h"

#include <sstream>

#include "core/backends/cuda/common/tactic.h"
#include "core/plan/engine.h"
#include "core/util/error.h"

namespace trtorch::backends::cuda {

namespace {

// The header line. v2 had the options line "allow_tf32=0|1" only; v3 records every option that
// changes the engine; v4 adds the saved plans.
constexpr const char* kHeader = "trtorch-cuda-tactics v4";
constexpr const char* kHeaderV3 = "trtorch-cuda-tactics v3";

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
                 conv_candidates, ";conv_choice=4;conv_runtime_compilation=", conv_runtime_compilation);
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
  s += str_cat("plans ", d.plans.size(), "\n");
  std::vector<uint8_t> out(s.begin(), s.end());
  for (const auto& [tactic, bytes] : d.plans) {
    TRTORCH_CHECK(!tactic.empty() && tactic.find('\n') == std::string::npos, "a saved plan needs a one-line tactic");
    const std::string sum = hex64(plan::fnv1a64(bytes.data(), bytes.size()));
    const std::string head = str_cat(tactic, "\n", bytes.size(), " ", sum, "\n");
    out.insert(out.end(), head.begin(), head.end());
    out.insert(out.end(), bytes.begin(), bytes.end());
  }
  return out;
}

namespace {

// Reads the data line by line, then counted bytes; every read is bounds-checked.
class Lines {
 public:
  explicit Lines(const std::vector<uint8_t>& d) : d_(d) {}
  bool line(std::string* out) {
    if (pos_ >= d_.size()) return false;
    size_t end = pos_;
    while (end < d_.size() && d_[end] != '\n') ++end;
    TRTORCH_EXPECT(end < d_.size(), "the engine's CUDA backend data ends inside a line: the engine is corrupt");
    out->assign(d_.begin() + std::ptrdiff_t(pos_), d_.begin() + std::ptrdiff_t(end));
    pos_ = end + 1;
    return true;
  }
  std::vector<uint8_t> bytes(size_t n) {
    TRTORCH_EXPECT(n <= d_.size() - pos_, "the engine's CUDA backend data: a saved plan of ", n, " bytes where ",
                   d_.size() - pos_, " remain: the engine is corrupt");
    std::vector<uint8_t> b(d_.begin() + std::ptrdiff_t(pos_), d_.begin() + std::ptrdiff_t(pos_ + n));
    pos_ += n;
    return b;
  }
  bool done() const { return pos_ == d_.size(); }

 private:
  const std::vector<uint8_t>& d_;
  size_t pos_ = 0;
};

}  // namespace

BackendData read_backend_data(const std::vector<uint8_t>& data, size_t n_nodes) {
  Lines in(data);
  std::string line;
  const bool has_header = in.line(&line);
  const bool v3 = has_header && line == kHeaderV3;
  TRTORCH_EXPECT(has_header && (v3 || line == kHeader),
                 "the engine's CUDA backend data is missing or from another trtorch version (expected \"", kHeader,
                 "\"): rebuild the engine");
  TRTORCH_EXPECT(in.line(&line), "the engine's CUDA backend data lacks its build options line: the engine "
                 "is corrupt");
  BackendData d;
  d.options = EngineOptions::parse(line);
  if (v3) {
    while (in.line(&line)) d.tactics.push_back(line);
    TRTORCH_EXPECT(d.tactics.size() == n_nodes, "the engine's CUDA backend data lists ", d.tactics.size(),
                   " tactics for ", n_nodes, " nodes: the engine is corrupt");
    return d;
  }
  for (size_t i = 0; i < n_nodes; ++i) {
    TRTORCH_EXPECT(in.line(&line), "the engine's CUDA backend data lists ", i, " tactics for ", n_nodes,
                   " nodes: the engine is corrupt");
    d.tactics.push_back(line);
  }
  int64_t count = -1;
  TRTORCH_EXPECT(in.line(&line) && line.rfind("plans ", 0) == 0 && parse_int(line.substr(6), &count) && count >= 0 &&
                     uint64_t(count) <= n_nodes,
                 "the engine's CUDA backend data: expected \"plans <0 to ", n_nodes, ">\" after the ", n_nodes,
                 " tactics, got \"", line.substr(0, 80), "\": the engine is corrupt");
  for (int64_t k = 0; k < count; ++k) {
    std::string tactic, size_line;
    int64_t n = -1;
    const bool head = in.line(&tactic) && !tactic.empty() && in.line(&size_line);
    const size_t space = head ? size_line.find(' ') : std::string::npos;
    TRTORCH_EXPECT(space != std::string::npos && parse_int(size_line.substr(0, space), &n) && n >= 0 &&
                       size_line.size() == space + 17,
                   "the engine's CUDA backend data: saved plan ", k, " of ", count,
                   " lacks its tactic, byte count or checksum: the engine is corrupt");
    TRTORCH_EXPECT(d.plans.count(tactic) == 0, "the engine's CUDA backend data saves two plans for tactic \"",
                   tactic, "\": the engine is corrupt");
    std::vector<uint8_t> bytes = in.bytes(size_t(n));
    TRTORCH_EXPECT(hex64(plan::fnv1a64(bytes.data(), bytes.size())) == size_line.substr(space + 1),
                   "the engine's CUDA backend data: the saved plan of tactic \"", tactic,
                   "\" does not match its checksum: the engine is corrupt");
    d.plans[tactic] = std::move(bytes);
  }
  TRTORCH_EXPECT(in.done(), "the engine's CUDA backend data has bytes after its saved plans: the engine is corrupt");
  return d;
}

}  // namespace trtorch::backends::cuda

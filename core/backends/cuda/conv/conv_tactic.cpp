// Conv2d on cuDNN (conv.h describes the files of conv/): the tactic string that records the
// fusion and engine config a build chose, cudnn-frontend's plan names, and the keys under which
// the kernels of one engine share plans.
//
// tactic() records the fusion and config chosen as text, e.g.
//   cudnn-conv;v=2;cudnn=91900;sig=3f0c2a9d81e4b7c5;tf32=0;fuse=bra;engine=26;knobs=13:1,14:3
//   v       format version of this string
//   cudnn   cudnnGetVersion() of the library that chose it (engine ids are per library)
//   sig     hash of the convolution problem (shapes, dtype, layout, attributes)
//   tf32    whether TF32 tensor cores were allowed (FP32 only)
//   fuse    the epilogue stages inside the cuDNN graph: b(ias) r(esidual) a(ctivation), or "none"
//   engine  cuDNN global engine id
//   knobs   every knob choice of the engine config as type:value, sorted by type, the type in
//           cuDNN's backend numbering (cudnnBackendKnobType_t), exactly as the plan name
//           (eng26_k13=1_k14=3) reports it. v=1 strings recorded cudnn_frontend::KnobType_t
//           numbers (a lossy mapping: backend knobs the frontend cannot name were dropped); they
//           still load, converted.
// A tactic that does not parse, or names another convolution, fails the load with a
// trtorch::Error naming the node.
#include "core/backends/cuda/conv/conv.h"

#include <algorithm>
#include <map>

#include "core/backends/cuda/common/tactic.h"

namespace trtorch::backends::cuda::conv {

namespace {

constexpr int kTacticVersion = 2;
// Older format versions that still load (v=1: knob types in cudnn_frontend::KnobType_t numbers).
constexpr int kOldestTacticVersion = 1;

// A tactic string that cannot be read: throws, naming the node (`where`) and why.
[[noreturn]] void bad_tactic(const std::string& text, const std::string& where, const std::string& why) {
  TRTORCH_ERROR("Conv2d ", where, ": cannot rebuild the cuDNN plan from tactic \"", text, "\": ", why,
                ". The engine was built with another trtorch version or is corrupt; rebuild it.");
}

// The key=value fields of a tactic string, each of the format's present once; its version in `*v`.
std::map<std::string, std::string> tactic_fields(const std::string& text, const std::string& where, int64_t* v) {
  auto parts = split(text, ';');
  if (parts.empty() || parts[0] != "cudnn-conv") bad_tactic(text, where, "not a cuDNN convolution tactic");
  std::map<std::string, std::string> kv;
  for (size_t i = 1; i < parts.size(); ++i) {
    size_t eq = parts[i].find('=');
    if (eq == std::string::npos) bad_tactic(text, where, str_cat("field \"", parts[i], "\" is not key=value"));
    if (!kv.emplace(parts[i].substr(0, eq), parts[i].substr(eq + 1)).second)
      bad_tactic(text, where, "duplicate field " + parts[i]);
  }
  for (const char* key : {"v", "cudnn", "sig", "tf32", "fuse", "engine", "knobs"})
    if (!kv.count(key)) bad_tactic(text, where, str_cat("missing field \"", key, "\""));
  if (kv.size() != 7) bad_tactic(text, where, "unexpected fields");
  if (!parse_int(kv["v"], v) || *v < kOldestTacticVersion || *v > kTacticVersion)
    bad_tactic(text, where, str_cat("format version ", kv["v"], " is not ", kTacticVersion));
  return kv;
}

// The fuse field: "none", or the fused stages in order b, r, a.
Fusion parse_fuse(const std::string& fuse, const std::string& text, const std::string& where) {
  Fusion f;
  if (fuse == "none") return f;
  std::string order = "bra";
  size_t pos = 0;
  for (char c : fuse) {
    size_t at = order.find(c, pos);
    if (at == std::string::npos) bad_tactic(text, where, str_cat("bad fuse code \"", fuse, "\""));
    pos = at + 1;
    (c == 'b' ? f.bias : c == 'r' ? f.residual : f.act) = true;
  }
  return f;
}

// The knobs field of format version `v`: type:value pairs, the types converted to cuDNN's backend
// numbering, sorted, each type once.
std::vector<std::pair<int64_t, int64_t>> parse_knobs(const std::string& field, int64_t v, const std::string& text,
                                                     const std::string& where) {
  std::vector<std::pair<int64_t, int64_t>> knobs;
  if (!field.empty()) {
    for (const std::string& kvp : split(field, ',')) {
      auto tv = split(kvp, ':');
      int64_t type = 0, value = 0;
      if (tv.size() != 2 || !parse_int(tv[0], &type) || !parse_int(tv[1], &value) || type < 0)
        bad_tactic(text, where, str_cat("bad knob \"", kvp, "\""));
      if (v == 1) {  // cudnn_frontend::KnobType_t numbers: to the backend's
        cudnnBackendKnobType_t backend = CUDNN_KNOB_TYPE_COUNTS;
        if (type == int64_t(fe::KnobType_t::NOT_SET) ||
            fe::convert_to_backend_knob_type(static_cast<fe::KnobType_t>(type), backend) != CUDNN_STATUS_SUCCESS)
          bad_tactic(text, where, str_cat("knob type ", type, " has no cuDNN backend knob"));
        type = int64_t(backend);
      } else if (type >= int64_t(CUDNN_KNOB_TYPE_COUNTS)) {
        bad_tactic(text, where, str_cat("knob type ", type, " is not a cuDNN backend knob type"));
      }
      knobs.emplace_back(type, value);
    }
  }
  std::sort(knobs.begin(), knobs.end());
  for (size_t i = 1; i < knobs.size(); ++i)
    if (knobs[i].first == knobs[i - 1].first) bad_tactic(text, where, "a knob is set twice");
  return knobs;
}

}  // namespace

// Plan names come from Graph::get_plan_name_at_index, i.e. detail::get_engine_tag: "eng<id>" then
// "_k<type>=<value>" per knob choice, the backend's knob numbering, sorted. The name reads the
// engine config's own backend attributes, so it carries every knob, also those
// cudnn_frontend::KnobType_t has no name for (get_engine_and_knobs_at_index maps all of those to
// NOT_SET, and several of them to the same key).
std::optional<EngineConfigId> parse_plan_name(const std::string& name) {
  auto parts = split(name, '_');
  if (parts.empty() || parts[0].size() < 4 || parts[0].compare(0, 3, "eng") != 0) return std::nullopt;
  EngineConfigId id;
  if (!parse_int(parts[0].substr(3), &id.engine) || id.engine < 0) return std::nullopt;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& kv = parts[i];
    const size_t eq = kv.find('=');
    int64_t type = 0, value = 0;
    if (kv.size() < 4 || kv[0] != 'k' || eq == std::string::npos || !parse_int(kv.substr(1, eq - 1), &type) ||
        !parse_int(kv.substr(eq + 1), &value) || type < 0 || type >= int64_t(CUDNN_KNOB_TYPE_COUNTS))
      return std::nullopt;
    id.knobs.emplace_back(type, value);
  }
  std::sort(id.knobs.begin(), id.knobs.end());
  for (size_t i = 1; i < id.knobs.size(); ++i)
    if (id.knobs[i].first == id.knobs[i - 1].first) return std::nullopt;  // one choice per knob
  return id;
}

bool EngineConfigId::same_choices(const EngineConfigId& o) const {
  auto set = [](const EngineConfigId& id) {
    std::vector<std::pair<int64_t, int64_t>> k;
    for (const auto& kv : id.knobs)
      if (kv.second != -1) k.push_back(kv);
    return k;
  };
  return engine == o.engine && set(*this) == set(o);
}

std::string Tactic::str() const {
  return str_cat("cudnn-conv;v=", kTacticVersion, ";cudnn=", cudnn_version, ";sig=", sig, ";tf32=", tf32 ? 1 : 0,
                 ";fuse=", fusion.code(), ";engine=", config.engine, ";knobs=", config.knob_text());
}

Tactic parse_tactic(const std::string& text, const std::string& where) {
  int64_t v = 0;
  std::map<std::string, std::string> kv = tactic_fields(text, where, &v);
  Tactic t;
  int64_t n = 0;
  if (!parse_int(kv["cudnn"], &n) || n <= 0) bad_tactic(text, where, "bad cuDNN version");
  t.cudnn_version = uint64_t(n);
  t.sig = kv["sig"];
  if (kv["tf32"] != "0" && kv["tf32"] != "1") bad_tactic(text, where, "tf32 must be 0 or 1");
  t.tf32 = kv["tf32"] == "1";
  t.fusion = parse_fuse(kv["fuse"], text, where);
  if (!parse_int(kv["engine"], &t.config.engine) || t.config.engine < 0) bad_tactic(text, where, "bad engine id");
  t.config.knobs = parse_knobs(kv["knobs"], v, text, where);
  return t;
}

std::string problem_share_key(const ConvProblem& p, bool tf32, int64_t max_workspace) {
  return str_cat("cudnn-conv ", p.signature(), ";tf32=", tf32, ";ws=", max_workspace);
}

std::string tactic_share_key(const std::string& tactic, int64_t max_workspace) {
  return str_cat("cudnn-conv tactic=", tactic, ";ws=", max_workspace);
}

}  // namespace trtorch::backends::cuda::conv

// Conv2d on cuDNN (conv.h describes the files of conv/): the engine configs a build tries for one
// fusion. cuDNN's heuristics (modes A and FALLBACK) propose them for the fusion's graph; the first
// TacticOptions::conv_candidates of them that build are kept, built one by one or on several host
// threads at once (TacticOptions::build_threads), each thread with a graph and cuDNN handle of its
// own. conv_choose.cpp times and checks them.
#include "core/backends/cuda/conv/conv.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <system_error>
#include <thread>

#include "core/backends/cuda/common/cuda_check.h"

namespace trtorch::backends::cuda::conv {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Most engine configs built and timed per fusion: each build may compile a kernel (runtime
// fusion). TacticOptions::conv_candidates (default 6), 1 to 16; a build option, for measuring what
// the search costs and gains.
size_t max_candidates(const TacticOptions& options) { return size_t(std::clamp(options.conv_candidates, 1, 16)); }

// Host threads that build one convolution's candidate configs at once. cuDNN compiles a
// runtime-fusion config's kernels while building it: about 0.5 s a config on an H100 host when
// the driver's JIT cache is cold. The compilations mostly wait for each other (ResNet-50 FP16,
// batch 1: six at once took as long as six in a row; batch 32: 1.6 s against 3.4 to 5.0 s for the
// slowest convolutions). TacticOptions::build_threads (1: one by one); 0 (or less): the host's
// cores, up to 16.
size_t build_threads(const TacticOptions& options) {
  if (options.build_threads > 0) return size_t(options.build_threads);
  return std::clamp(std::thread::hardware_concurrency(), 1u, 16u);
}

// Proposes the engine configs of `g` (heuristic modes A and FALLBACK, in their order), drops
// those whose numerics `dtype` / `tf32` bar, that compile a kernel when built unless
// `runtime_compiled`, or whose workspace exceeds `max_ws` (they stay in the
// list and fail to build), and returns the named ones once each, unbuilt, with the names that do
// not parse in `errors`; false (with the reason) when the heuristics fail.
bool propose_configs(fe::graph::Graph& g, ir::DType dtype, bool tf32, int64_t max_ws, bool runtime_compiled,
                     std::vector<Candidate>* picks, std::vector<std::string>* errors) {
  if (auto e = g.create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK}); e.is_bad()) {
    errors->push_back("heuristics: " + e.get_message());
    return false;
  }
  g.deselect_numeric_notes(barred_notes(dtype, tf32));
  if (!runtime_compiled) g.deselect_behavior_notes({fe::BehaviorNote_t::RUNTIME_COMPILATION});
  if (max_ws != std::numeric_limits<int64_t>::max()) g.deselect_workspace_greater_than(max_ws);
  // Heuristic order; A and FALLBACK may propose the same config twice.
  std::set<std::string> seen;
  for (int64_t i = 0; i < g.get_execution_plan_count(); ++i) {
    std::string name;
    if (g.get_plan_name_at_index(i, name).is_bad()) continue;  // unnamed: no tactic can record it
    if (!seen.insert(name).second) continue;
    const auto id = parse_plan_name(name);
    if (!id) {
      errors->push_back(name + ": not an engine config name");
      continue;
    }
    Candidate c;
    c.index = i;
    c.id = *id;
    c.name = name;
    picks->push_back(std::move(c));
  }
  return true;
}

// What one build thread builds on: `g` itself on one thread; else the same operation graph made
// again on a leased handle, its configs proposed again and found by name.
struct BuildWorker {
  std::shared_ptr<Context::HandleLease> lease;
  std::shared_ptr<fe::graph::Graph> graph;
  cudnnHandle_t handle = nullptr;
  std::map<std::string, int64_t> index_of;  // config name -> plan index in `graph` (several threads)
};

}  // namespace

// The build of one fusion's proposed configs (`picks`, heuristic order). Each worker takes the
// next config while fewer than `want` have built; so every config before the last one taken was
// taken, and the first that built are those a serial build keeps.
struct CudnnConv2d::CandidateBuild {
  CandidateBuild(const CudnnConv2d& kernel, const Fusion& fusion, std::shared_ptr<fe::graph::Graph> graph,
                 std::vector<Candidate>& proposed, size_t want_built, size_t n_threads)
      : k(kernel), f(fusion), g(std::move(graph)), picks(proposed), want(want_built), threads(n_threads),
        failed(picks.size()), taken(picks.size(), 0), built(picks.size(), 0), compiled(picks.size(), 0),
        build_s(picks.size(), 0.0), worker_errors(threads) {}

  // Builds on `threads` host threads (or on this one), then moves the first `want` configs that
  // built to `cands`; the reasons of those taken that did not build go to `errors`.
  void run(std::vector<Candidate>* cands, std::vector<std::string>* errors, CandidateBuilds* stats);

 private:
  // Worker `w`'s graph; false, with worker_errors[w], when it cannot be made.
  bool make_worker(size_t w, BuildWorker* out);
  // Builds config `i` of `picks` on the worker's graph.
  void build(size_t i, const BuildWorker& wk);
  void work(size_t w);

  const CudnnConv2d& k;
  const Fusion& f;
  std::shared_ptr<fe::graph::Graph> g;  // the graph `picks` were proposed on
  std::vector<Candidate>& picks;
  const size_t want, threads;
  std::vector<std::string> failed;
  std::vector<char> taken, built, compiled;
  std::vector<double> build_s;
  std::vector<std::string> worker_errors;
  std::atomic<size_t> next{0}, n_built{0};
};

bool CudnnConv2d::CandidateBuild::make_worker(size_t w, BuildWorker* out) {
  out->graph = g;
  out->handle = k.ctx_.cudnn();
  try {
    if (threads > 1) {
      TRTORCH_CUDA_CHECK(cudaSetDevice(k.ctx_.device()));
      out->lease = k.ctx_.lease_cudnn();
      out->handle = out->lease->get();
      std::string r;
      if (!k.make_graph(f, &out->graph, &r, out->handle)) {
        worker_errors[w] = r;
        return false;
      }
      std::vector<Candidate> again;
      std::vector<std::string> again_errors;
      if (!propose_configs(*out->graph, k.p_.dtype, k.tf32_, k.max_workspace_, k.runtime_compiled_, &again,
                           &again_errors)) {
        worker_errors[w] = again_errors.empty() ? std::string("heuristics failed") : again_errors.front();
        return false;
      }
      for (const Candidate& c : again) out->index_of[c.name] = c.index;
    }
  } catch (const std::exception& ex) {
    worker_errors[w] = ex.what();
    return false;
  }
  return true;
}

void CudnnConv2d::CandidateBuild::build(size_t i, const BuildWorker& wk) {
  Candidate& c = picks[i];
  taken[i] = 1;
  try {
    if (threads > 1) {
      auto it = wk.index_of.find(c.name);
      if (it == wk.index_of.end()) {
        failed[i] = c.name + ": not proposed again on a graph of its own";
        return;
      }
      c.index = it->second;
    }
    c.lease = wk.lease;
    c.graph = wk.graph;
    c.handle = wk.handle;
    const auto t_build = Clock::now();
    auto e = wk.graph->build_plan_at_index(c.index);
    build_s[i] = since(t_build);
    if (e.is_bad()) {
      failed[i] = c.name + ": does not build: " + e.get_message();
      return;
    }
    std::vector<fe::BehaviorNote_t> notes;
    compiled[i] = wk.graph->get_behavior_notes_for_plan_at_index(c.index, notes).is_good() &&
                  std::count(notes.begin(), notes.end(), fe::BehaviorNote_t::RUNTIME_COMPILATION) > 0;
    built[i] = 1;
    ++n_built;
  } catch (const std::exception& ex) {
    failed[i] = c.name + ": " + ex.what();
  }
}

void CudnnConv2d::CandidateBuild::work(size_t w) {
  BuildWorker wk;
  if (!make_worker(w, &wk)) return;
  for (size_t i; n_built.load() < want && (i = next++) < picks.size();) build(i, wk);
}

void CudnnConv2d::CandidateBuild::run(std::vector<Candidate>* cands, std::vector<std::string>* errors,
                                      CandidateBuilds* stats) {
  if (threads > 1) {
    std::vector<std::thread> pool;
    try {
      for (size_t t = 0; t < threads; ++t) pool.emplace_back(&CandidateBuild::work, this, t);
    } catch (const std::system_error&) {
      // Fewer threads than asked: those started take every config.
    }
    if (pool.empty()) work(0);
    for (std::thread& t : pool) t.join();
  } else {
    work(0);
  }
  for (const std::string& e : worker_errors)
    if (!e.empty()) errors->push_back("a build thread's graph: " + e);
  for (size_t i = 0; i < picks.size(); ++i) {
    stats->longest_s = std::max(stats->longest_s, build_s[i]);
    if (built[i] && cands->size() < want) {
      stats->runtime_compiled += compiled[i];
      cands->push_back(std::move(picks[i]));
    } else if (taken[i] && !built[i]) {
      errors->push_back(failed[i]);
    }
  }
}

bool CudnnConv2d::build_candidates(const Fusion& f, const TacticOptions& options, std::vector<Candidate>* cands,
                                   std::vector<std::string>* why, CandidateBuilds* stats) const {
  std::shared_ptr<fe::graph::Graph> g;
  std::string reason;
  if (!make_graph(f, &g, &reason)) {
    why->push_back(reason);
    return false;
  }
  const auto t_heuristics = Clock::now();
  std::vector<Candidate> picks;
  std::vector<std::string> errors;
  if (!propose_configs(*g, p_.dtype, tf32_, max_workspace_, runtime_compiled_, &picks, &errors)) {
    why->insert(why->end(), errors.begin(), errors.end());
    return false;
  }
  stats->heuristics_s = since(t_heuristics);

  const size_t want = max_candidates(options);
  const size_t threads = std::max<size_t>(1, std::min({build_threads(options), picks.size(), want}));
  stats->threads = int(threads);
  CandidateBuild(*this, f, g, picks, want, threads).run(cands, &errors, stats);
  if (cands->empty()) {
    why->push_back("no engine config builds under the numeric/workspace limits");
    why->insert(why->end(), errors.begin(), errors.end());
    return false;
  }
  return true;
}

}  // namespace trtorch::backends::cuda::conv

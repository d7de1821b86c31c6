#include "core/backends/cuda/common/rtc.h"

#include <cudaTypedefs.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "core/backends/cuda/common/context.h"
#include "core/backends/cuda/common/cuda_check.h"
#include "core/util/logging.h"

namespace trtorch::backends::cuda {

namespace {

// The driver functions used here, from the runtime's entry-point query (no link to libcuda).
struct Driver {
  PFN_cuModuleLoadData_v2000 module_load_data = nullptr;
  PFN_cuModuleGetFunction_v2000 module_get_function = nullptr;
  PFN_cuLaunchKernel_v4000 launch_kernel = nullptr;
  PFN_cuGetErrorString_v6000 get_error_string = nullptr;
};

template <typename F>
void entry_point(const char* name, int version, F* fn) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult q{};
  TRTORCH_CUDA_CHECK(cudaGetDriverEntryPointByVersion(name, &p, unsigned(version), cudaEnableDefault, &q));
  TRTORCH_EXPECT(q == cudaDriverEntryPointSuccess && p, "the CUDA driver has no ", name, " (version ", version, ")");
  *fn = reinterpret_cast<F>(p);
}

const Driver& driver() {
  static const Driver d = [] {
    Driver r;
    entry_point("cuModuleLoadData", 2000, &r.module_load_data);
    entry_point("cuModuleGetFunction", 2000, &r.module_get_function);
    entry_point("cuLaunchKernel", 4000, &r.launch_kernel);
    entry_point("cuGetErrorString", 6000, &r.get_error_string);
    return r;
  }();
  return d;
}

void check(CUresult r, const char* call) {
  if (r == CUDA_SUCCESS) return;
  const char* msg = nullptr;
  driver().get_error_string(r, &msg);
  TRTORCH_ERROR("CUDA driver call ", call, " failed (", int(r), "): ", msg ? msg : "unknown error");
}

struct Module {
  CUmodule module = nullptr;
  std::vector<uint8_t> cubin;  // what was loaded: for engines that save it
};

struct Cache {
  std::mutex mu;
  std::map<std::pair<int, std::string>, Module> modules;  // (device, source)
  size_t compiles = 0;
};

// Loads a cubin into the device's primary context (cudaSetDevice makes it current; the runtime's
// streams run there).
CUresult load_module(const Context& ctx, const void* image, CUmodule* m) {
  DeviceGuard guard(ctx.device());
  return driver().module_load_data(m, image);
}

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: modules outlive static destruction order
  return *c;
}

std::string numbered(const std::string& src) {
  std::ostringstream os;
  std::istringstream is(src);
  std::string line;
  for (int i = 1; std::getline(is, line); ++i) os << i << ": " << line << "\n";
  return os.str();
}

}  // namespace

std::vector<char> rtc_compile(const std::string& source, int sm) {
  nvrtcProgram prog = nullptr;
  TRTORCH_NVRTC_CHECK(nvrtcCreateProgram(&prog, source.c_str(), "trtorch_generated.cu", 0, nullptr, nullptr));
  struct Destroy {
    nvrtcProgram* p;
    ~Destroy() { nvrtcDestroyProgram(p); }
  } destroy{&prog};
  const std::string arch = "--gpu-architecture=sm_" + std::to_string(sm);
  const char* opts[] = {arch.c_str(), "--std=c++17", "--extra-device-vectorization"};
  const nvrtcResult r = nvrtcCompileProgram(prog, int(sizeof(opts) / sizeof(opts[0])), opts);
  if (r != NVRTC_SUCCESS) {
    size_t n = 0;
    nvrtcGetProgramLogSize(prog, &n);
    std::string log(n, '\0');
    if (n) nvrtcGetProgramLog(prog, log.data());
    while (!log.empty() && log.back() == '\0') log.pop_back();  // the size counts the terminator
    TRTORCH_ERROR("NVRTC could not compile a generated kernel (", nvrtcGetErrorString(r), ", ", arch, "):\n", log,
                  "\nsource:\n", numbered(source));
  }
  size_t n = 0;
  TRTORCH_NVRTC_CHECK(nvrtcGetCUBINSize(prog, &n));
  std::vector<char> cubin(n);
  TRTORCH_NVRTC_CHECK(nvrtcGetCUBIN(prog, cubin.data()));
  return cubin;
}

CUfunction rtc_function(const Context& ctx, const std::string& source, const std::string& name,
                        const std::vector<uint8_t>* cubin) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  const auto key = std::make_pair(ctx.device(), source);
  auto it = c.modules.find(key);
  if (it == c.modules.end() && cubin) {
    // A saved cubin (the engine checksums it) must at least be an ELF image: the driver reads the
    // image without a length.
    static const uint8_t kElf[4] = {0x7f, 'E', 'L', 'F'};
    Module m;
    if (cubin->size() < 64 || !std::equal(kElf, kElf + 4, cubin->begin())) {
      TRTORCH_LOG(kInfo, "a saved NVRTC kernel (", cubin->size(), " bytes) is not a cubin; compiling its source");
    } else if (const CUresult r = load_module(ctx, cubin->data(), &m.module); r == CUDA_SUCCESS) {
      m.cubin = *cubin;
      it = c.modules.emplace(key, std::move(m)).first;
      TRTORCH_LOG(kDebug, "NVRTC: loaded a saved generated kernel (", cubin->size(), " bytes), no compilation");
    } else {
      TRTORCH_LOG(kInfo, "a saved NVRTC kernel (", cubin->size(), " bytes) does not load (CUDA driver error ", int(r),
                  "); compiling its source");
    }
  }
  if (it == c.modules.end()) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<char> compiled = rtc_compile(source, ctx.props().major * 10 + ctx.props().minor);
    ++c.compiles;
    TRTORCH_LOG(kDebug, "NVRTC: compiled a generated kernel in ",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(), " ms");
    Module m;
    check(load_module(ctx, compiled.data(), &m.module), "cuModuleLoadData");
    m.cubin.assign(compiled.begin(), compiled.end());
    it = c.modules.emplace(key, std::move(m)).first;
  }
  CUfunction f = nullptr;
  check(driver().module_get_function(&f, it->second.module, name.c_str()), "cuModuleGetFunction");
  return f;
}

std::vector<uint8_t> rtc_cubin(const Context& ctx, const std::string& source) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.modules.find(std::make_pair(ctx.device(), source));
  return it == c.modules.end() ? std::vector<uint8_t>() : it->second.cubin;
}

void rtc_launch(CUfunction fn, unsigned grid, unsigned block, cudaStream_t stream, void** params) {
  check(driver().launch_kernel(fn, grid, 1, 1, block, 1, 1, 0, reinterpret_cast<CUstream>(stream), params, nullptr),
        "cuLaunchKernel");
}

size_t rtc_compile_count() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.compiles;
}

}  // namespace trtorch::backends::cuda

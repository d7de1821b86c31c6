// trtorch._C: the Python bindings of the C++ API (trtorch/trtorch.h).
//
// Built with the pybind11 headers that torch ships (as torch's own extensions are), so that a
// torch._C.ScriptModule passed from Python converts to torch::jit::Module and back through
// torch's registered type. The Python package (py/trtorch) validates the settings dictionary and
// builds a CompileSpec from it; these bindings only map types and errors.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <torch/csrc/jit/python/pybind_utils.h>
#include <torch/csrc/utils/pybind.h>
#include <torch/script.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "trtorch/trtorch.h"
#include "trtorch/ptq.h"
#include "core/frontend/partitioning/settings.h"
#include "core/plan/builder.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"
#include "core/util/progress.h"

namespace py = pybind11;

namespace {

using trtorch::CompileSpec;

// Python's view of one input: (min, opt, max) shapes.
using PyRange = std::tuple<std::vector<int64_t>, std::vector<int64_t>, std::vector<int64_t>>;

CompileSpec make_spec(const std::vector<PyRange>& ranges) {
  std::vector<CompileSpec::InputRange> rs;
  for (const auto& [mn, opt, mx] : ranges) rs.emplace_back(mn, opt, mx);
  return CompileSpec(std::move(rs));
}

std::vector<PyRange> spec_ranges(const CompileSpec& s) {
  std::vector<PyRange> out;
  for (const auto& r : s.input_ranges) out.emplace_back(r.min, r.opt, r.max);
  return out;
}

// trtorch::Error (user-facing problems) and c10::Error (from torch, e.g. a failed TORCH_CHECK)
// both become trtorch.Error, a RuntimeError subclass carrying the C++ message.
void bind_errors(py::module_& m) {
  // The exception type lives as long as the process (never decref'd: no teardown ordering).
  static PyObject* error_type = PyErr_NewException("trtorch.Error", PyExc_RuntimeError, nullptr);
  if (!error_type) throw py::error_already_set();
  m.attr("Error") = py::handle(error_type);
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const trtorch::Error& e) {
      PyErr_SetString(error_type, e.what());
    } catch (const c10::Error& e) {
      PyErr_SetString(error_type, e.what_without_backtrace());
    }
  });
}

// The enums and CompileSpec (the settings dictionary's parser fills one in).
void bind_compile_spec(py::module_& m) {
  py::enum_<CompileSpec::DataType>(m, "DataType")
      .value("kFloat", CompileSpec::DataType::kFloat)
      .value("kHalf", CompileSpec::DataType::kHalf)
      .value("kBFloat16", CompileSpec::DataType::kBFloat16)
      .value("kInt8", CompileSpec::DataType::kInt8);

  namespace ptq = trtorch::ptq;
  py::enum_<ptq::CalibrationAlgo>(m, "CalibrationAlgo")
      .value("kEntropy", ptq::CalibrationAlgo::kEntropy)
      .value("kMinMax", ptq::CalibrationAlgo::kMinMax)
      .value("kPercentile", ptq::CalibrationAlgo::kPercentile);
  py::class_<ptq::Calibrator, std::shared_ptr<ptq::Calibrator>>(m, "Calibrator")
      .def(py::init<>())
      .def_readwrite("batches", &ptq::Calibrator::batches)
      .def_readwrite("algo", &ptq::Calibrator::algo)
      .def_readwrite("percentile", &ptq::Calibrator::percentile)
      .def_readwrite("cache_file", &ptq::Calibrator::cache_file)
      .def_readwrite("use_cache", &ptq::Calibrator::use_cache);

  py::enum_<CompileSpec::ConvRuntimeCompilation>(m, "ConvRuntimeCompilation")
      .value("kAuto", CompileSpec::ConvRuntimeCompilation::kAuto)
      .value("kAlways", CompileSpec::ConvRuntimeCompilation::kAlways)
      .value("kFallback", CompileSpec::ConvRuntimeCompilation::kFallback);
  py::enum_<CompileSpec::InputType>(m, "InputType")
      .value("kAuto", CompileSpec::InputType::kAuto)
      .value("kFloat", CompileSpec::InputType::kFloat)
      .value("kInt32", CompileSpec::InputType::kInt32)
      .value("kInt64", CompileSpec::InputType::kInt64)
      .value("kBool", CompileSpec::InputType::kBool);

  py::enum_<CompileSpec::Device::Type>(m, "DeviceType")
      .value("kAuto", CompileSpec::Device::Type::kAuto)
      .value("kGPU", CompileSpec::Device::Type::kGPU)
      .value("kReference", CompileSpec::Device::Type::kReference);

  py::class_<CompileSpec>(m, "CompileSpec")
      .def(py::init(&make_spec), py::arg("input_ranges"),
           "One (min, opt, max) shape triple per input; fixed shapes repeat the same shape.")
      .def_property_readonly("input_ranges", &spec_ranges)
      .def_readwrite("input_types", &CompileSpec::input_types)
      .def_readwrite("op_precision", &CompileSpec::op_precision)
      .def_readwrite("enable_int8", &CompileSpec::enable_int8)
      .def_readwrite("ptq_calibrator", &CompileSpec::ptq_calibrator)
      .def_property(
          "device_type", [](const CompileSpec& s) { return s.device.type; },
          [](CompileSpec& s, CompileSpec::Device::Type t) { s.device.type = t; })
      .def_property(
          "gpu_id", [](const CompileSpec& s) { return s.device.gpu_id; },
          [](CompileSpec& s, int id) { s.device.gpu_id = id; })
      .def_readwrite("workspace_size", &CompileSpec::workspace_size)
      .def_readwrite("num_min_timing_iters", &CompileSpec::num_min_timing_iters)
      .def_readwrite("num_avg_timing_iters", &CompileSpec::num_avg_timing_iters)
      .def_readwrite("allow_tf32", &CompileSpec::allow_tf32)
      .def_readwrite("debug", &CompileSpec::debug)
      .def_readwrite("timing_cache_path", &CompileSpec::timing_cache_path)
      .def_readwrite("fp32_conv_bias", &CompileSpec::fp32_conv_bias)
      .def_readwrite("channels_last", &CompileSpec::channels_last)
      .def_readwrite("cuda_graphs", &CompileSpec::cuda_graphs)
      .def_readwrite("int8_timing_choice", &CompileSpec::int8_timing_choice)
      .def_readwrite("conv_runtime_compilation", &CompileSpec::conv_runtime_compilation)
      .def_readwrite("conv_candidates", &CompileSpec::conv_candidates)
      .def_readwrite("build_threads", &CompileSpec::build_threads)
      .def_readwrite("require_full_compilation", &CompileSpec::require_full_compilation)
      .def_readwrite("min_block_size", &CompileSpec::min_block_size)
      .def_readwrite("torch_executed_ops", &CompileSpec::torch_executed_ops)
      .def_readwrite("torch_executed_modules", &CompileSpec::torch_executed_modules);

  // The compile's own check of the partial-compilation settings (op names against the registered
  // operators), for the settings dictionary's parser to run before compiling.
  m.def(
      "check_partition_settings",
      [](const CompileSpec& s) {
        trtorch::frontend::PartitionSettings p;
        p.require_full_compilation = s.require_full_compilation;
        p.min_block_size = int64_t(std::min<uint64_t>(s.min_block_size, uint64_t(INT64_MAX)));
        p.torch_executed_ops = s.torch_executed_ops;
        p.torch_executed_modules = s.torch_executed_modules;
        trtorch::frontend::check_partition_settings(p);
      },
      py::arg("spec"));
}

// A progress callback into Python (progress(stage, done, total, item)), called with the GIL taken.
// It holds a plain handle: the caller's argument keeps the function alive for the whole call, and
// the callback is dropped without the GIL.
trtorch::util::ProgressCallback python_progress(const py::object& progress) {
  if (progress.is_none()) return nullptr;
  py::handle fn = progress;
  return [fn](const std::string& stage, size_t done, size_t total, const std::string& item) {
    py::gil_scoped_acquire gil;
    fn(stage, done, total, item);
  };
}

// Compiling, checking operator support and loading engine bytes.
void bind_compiler(py::module_& m) {
  // Compilation runs without the GIL; it takes it only to report progress to Python.
  m.def(
      "compile_graph",
      [](const torch::jit::Module& module, const CompileSpec& spec, const py::object& progress) {
        auto cb = python_progress(progress);
        py::gil_scoped_release no_gil;
        trtorch::util::ProgressScope scope(std::move(cb));
        return trtorch::CompileGraph(module, spec);
      },
      py::arg("module"), py::arg("spec"), py::arg("progress") = py::none());

  m.def(
      "convert_graph_to_trt_engine",
      [](const torch::jit::Module& module, const std::string& method, const CompileSpec& spec,
         const py::object& progress) {
        std::string engine;
        auto cb = python_progress(progress);
        {
          py::gil_scoped_release no_gil;
          trtorch::util::ProgressScope scope(std::move(cb));
          engine = trtorch::ConvertGraphToTRTEngine(module, method, spec);
        }
        return py::bytes(engine);
      },
      py::arg("module"), py::arg("method_name"), py::arg("spec"), py::arg("progress") = py::none());

  m.def(
      "check_method_op_support",
      [](const torch::jit::Module& module, const std::string& method) {
        std::string report;
        bool ok;
        {
          py::gil_scoped_release no_gil;
          ok = trtorch::CheckMethodOperatorSupport(module, method, &report);
        }
        return std::make_pair(ok, report);
      },
      py::arg("module"), py::arg("method_name"),
      "(supported, report): report has one line per unsupported operation");

  // Deserializes (and so validates) engine bytes into a torch.classes.trtorch.Engine object,
  // which torch.ops.trtorch.execute_engine runs.
  m.def(
      "load_engine",
      [](const py::bytes& engine) {
        c10::IValue obj = trtorch::runtime::make_engine_ivalue(std::string(engine));
        return torch::jit::toPyObject(std::move(obj));
      },
      py::arg("engine"));
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "trtorch C++ API bindings (use the trtorch package, not this module)";
  m.attr("TORCH_VERSION") = TORCH_VERSION;
  // The ranges of the engine knobs and min_block_size, for the settings dictionary's checks.
  m.attr("MAX_CONV_CANDIDATES") = trtorch::plan::kMaxConvCandidates;
  m.attr("MAX_BUILD_THREADS") = trtorch::plan::kMaxBuildThreads;
  m.attr("MAX_TIMING_ITERS") = trtorch::plan::kMaxTimingIters;
  m.attr("MAX_WORKSPACE_SIZE") = trtorch::plan::kMaxWorkspaceSize;
  m.attr("MAX_MIN_BLOCK_SIZE") = trtorch::frontend::kMaxMinBlockSize;

  bind_errors(m);
  bind_compile_spec(m);
  bind_compiler(m);

  m.def("get_build_info", &trtorch::get_build_info);
  m.def("set_reportable_log_level",
        [](int level) { trtorch::logging::set_reportable_log_level(trtorch::logging::Level(level)); });
  m.def("get_reportable_log_level", [] { return int(trtorch::logging::get_reportable_log_level()); });
}

// The compiler pipeline (see compiler.h): lower, convert, build and serialize, then wrap the engine
// in a TorchScript module whose method runs it.
#include "core/frontend/compiler.h"

#include <chrono>

#include "core/frontend/lowering/lowering.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"
#include "core/util/logging.h"

namespace trtorch::frontend {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

torch::jit::Value* rebuild_output(torch::jit::Graph& g, const OutputTree& t, const std::vector<torch::jit::Value*>& outs) {
  switch (t.kind) {
    case OutputTree::Kind::kEngineOutput:
      return outs.at(size_t(t.engine_output));
    case OutputTree::Kind::kConstant:
      return g.insertConstant(t.constant);
    case OutputTree::Kind::kTuple: {
      std::vector<torch::jit::Value*> items;
      for (const auto& i : t.items) items.push_back(rebuild_output(g, i, outs));
      auto tuple_type = t.type ? t.type->cast<c10::TupleType>() : nullptr;
      // Named tuples keep their type; plain tuples take their element types.
      auto* n = g.insertNode(tuple_type && tuple_type->schema() ? g.createTuple(items, tuple_type) : g.createTuple(items));
      return n->output();
    }
    case OutputTree::Kind::kList: {
      std::vector<torch::jit::Value*> items;
      for (const auto& i : t.items) items.push_back(rebuild_output(g, i, outs));
      auto list_type = t.type ? t.type->cast<c10::ListType>() : nullptr;
      c10::TypePtr elem = list_type ? list_type->getElementType() : c10::TensorType::get();
      return g.insertNode(g.createList(elem, items))->output();
    }
  }
  TRTORCH_CHECK(false, "bad output tree kind");
  return nullptr;
}

}  // namespace

CompiledEngine compile_engine(const torch::jit::Module& module, const std::string& method, const CompileOptions& opts) {
  auto t0 = Clock::now();
  auto g = lower_module(module, method);
  TRTORCH_LOG(kInfo, "lowering done in ", seconds_since(t0), " s");
  auto t1 = Clock::now();
  ConvertedGraph conv = convert_graph(g, opts.inputs);
  TRTORCH_LOG(kInfo, "conversion done in ", seconds_since(t1), " s (", conv.graph->num_nodes(), " IR nodes)");
  auto t2 = Clock::now();
  plan::BuildConfig build = opts.build;
  build.opt_shapes = conv.opt_shapes;
  plan::Engine engine = plan::build_engine(std::move(conv.graph), build, conv.input_names, conv.output_names);
  TRTORCH_LOG(kInfo, "engine built in ", seconds_since(t2), " s (", engine.graph->num_nodes(), " IR nodes, ",
              engine.device.str(), ")");
  auto bytes = plan::serialize(engine);
  CompiledEngine out;
  out.serialized.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  out.returns = std::move(conv.returns);
  out.input_names = std::move(conv.input_names);
  return out;
}

torch::jit::Module compile_module(const torch::jit::Module& module, const std::string& method,
                                  const CompileOptions& opts) {
  CompiledEngine ce = compile_engine(module, method, opts);
  torch::jit::Module wrapped(c10::QualifiedName("__torch__.trtorch.CompiledModule"));
  const std::string attr = "trtorch_engine_0";
  c10::IValue engine_obj = runtime::make_engine_ivalue(ce.serialized);
  wrapped.register_attribute(attr, engine_obj.type(), engine_obj);

  auto g = std::make_shared<torch::jit::Graph>();
  torch::jit::Value* self = g->addInput("self")->setType(wrapped.type());
  std::vector<torch::jit::Value*> ins;
  for (const auto& name : ce.input_names) {
    torch::jit::Value* in = g->addInput()->setType(c10::TensorType::get());
    // Keep the source's input names where TorchScript accepts them (not "input.1").
    bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(c) || c == '_'; }) &&
                 !std::isdigit(name[0]);
    if (plain) in->setDebugName(name);
    ins.push_back(in);
  }
  torch::jit::Value* eng = g->insertNode(g->createGetAttr(self, attr))->output();
  torch::jit::Value* list = g->insertNode(g->createList(c10::TensorType::get(), ins))->output();
  torch::jit::Node* exec = g->create(c10::Symbol::fromQualString("trtorch::execute_engine"), {list, eng}, 1);
  g->insertNode(exec);
  exec->output()->setType(c10::ListType::ofTensors());
  size_t n_out = 0;
  std::function<void(const OutputTree&)> count = [&](const OutputTree& t) {
    if (t.kind == OutputTree::Kind::kEngineOutput) n_out = std::max(n_out, size_t(t.engine_output) + 1);
    for (const auto& i : t.items) count(i);
  };
  for (const auto& r : ce.returns) count(r);
  torch::jit::Node* unpack = g->insertNode(g->createListUnpack(exec->output(), n_out));
  std::vector<torch::jit::Value*> outs(unpack->outputs().begin(), unpack->outputs().end());
  TRTORCH_CHECK(ce.returns.size() == 1, "methods return one value");
  g->registerOutput(rebuild_output(*g, ce.returns[0], outs));

  auto fn = wrapped._ivalue()->compilation_unit()->create_function(c10::QualifiedName(*wrapped.type()->name(), method), g);
  wrapped.type()->addMethod(fn);
  return wrapped;
}

std::vector<std::string> check_method_support(const torch::jit::Module& module, const std::string& method) {
  auto g = lower_module(module, method);
  return unsupported_nodes(g);
}

}  // namespace trtorch::frontend

// The reference backend as a plan::Executor, registered for DeviceType::kReference.
#include <cstring>

#include "core/backends/reference/reference.h"
#include "core/plan/backend.h"
#include "core/util/error.h"

namespace trtorch::backends::reference {

namespace {

class ReferenceExecutor : public plan::Executor {
 public:
  explicit ReferenceExecutor(std::shared_ptr<const plan::Engine> engine) : engine_(std::move(engine)) {
    TRTORCH_CHECK(engine_ && engine_->graph, "reference executor without a graph");
  }

  std::vector<plan::Shape> output_shapes(const std::vector<plan::Shape>& input_shapes) override {
    const ir::Graph& g = *engine_->graph;
    TRTORCH_EXPECT(input_shapes.size() == g.inputs().size(), "reference executor: the engine takes ",
                   g.inputs().size(), " inputs, got ", input_shapes.size(), " shapes");
    // The graph specialized to these shapes (symbolic sizes evaluated) gives the output shapes.
    std::unique_ptr<ir::Graph> s = ir::specialize(g, input_shapes);
    std::vector<plan::Shape> shapes;
    for (ir::Value* v : s->outputs()) shapes.push_back(v->type.static_shape());
    return shapes;
  }

  size_t workspace_size(const std::vector<plan::Shape>&) override { return 0; }

  void execute(const std::vector<const void*>& inputs, const std::vector<plan::Shape>& input_shapes,
               const std::vector<void*>& outputs, void*, void*) override {
    const ir::Graph& g = *engine_->graph;
    TRTORCH_EXPECT(inputs.size() == g.inputs().size() && input_shapes.size() == inputs.size(),
                   "reference executor: the engine takes ", g.inputs().size(), " inputs, got ", inputs.size(),
                   " pointers and ", input_shapes.size(), " shapes");
    TRTORCH_EXPECT(outputs.size() == g.outputs().size(), "reference executor: the engine has ",
                   g.outputs().size(), " outputs, got ", outputs.size(), " pointers");
    std::vector<ir::HostTensor> in;
    for (size_t i = 0; i < inputs.size(); ++i) {
      ir::HostTensor t(g.inputs()[i]->type.dtype, input_shapes[i]);
      if (t.nbytes()) {
        TRTORCH_EXPECT(inputs[i] != nullptr, "reference executor: input ", i, " is a null pointer");
        std::memcpy(t.data(), inputs[i], t.nbytes());
      }
      in.push_back(std::move(t));
    }
    std::vector<ir::HostTensor> out = run(g, in);
    for (size_t i = 0; i < out.size(); ++i) {
      if (!out[i].nbytes()) continue;
      TRTORCH_EXPECT(outputs[i] != nullptr, "reference executor: output ", i, " is a null pointer");
      std::memcpy(outputs[i], out[i].data(), out[i].nbytes());
    }
  }

 private:
  std::shared_ptr<const plan::Engine> engine_;
};

// Runs when libtrtorch_core is loaded: every program that links the core has the backend.
const bool kRegistered =
    plan::register_backend(plan::DeviceType::kReference, [](std::shared_ptr<const plan::Engine> e, int /*device*/) {
      return std::unique_ptr<plan::Executor>(new ReferenceExecutor(std::move(e)));
    });

}  // namespace

}  // namespace trtorch::backends::reference

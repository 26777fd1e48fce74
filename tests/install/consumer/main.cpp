// A user program linking the installed approxtune: tunes its own tiny app.
#include <cstdio>

#include <approxtune/runtime/app.hpp>
#include <approxtune/search/tuner.hpp>

class my_app : public approxtune::app {
 public:
  my_app()
      : app({{"conv1", {approxtune::knob("fp32", {}, 1), approxtune::knob("perf")}},
             {"conv2", {approxtune::knob("fp32", {}, 1), approxtune::knob("perf")}}}) {}
  std::string name() const override { return "consumer"; }
  bool cost_is_timed() const override { return false; }
  approxtune::measurement measure(const approxtune::config_code& c, approxtune::split) const override {
    return {100.0 - 0.5 * (c[0] + c[1]), 2.0 - 0.4 * (c[0] + c[1])};
  }
};

int main() {
  my_app a;
  approxtune::tuner t(a);
  approxtune::tune_options o;
  o.max_iter = 4;
  o.qos_tuner_threshold = 1.0;
  o.relative = true;
  o.strategy = "random";
  t.tune(o);
  std::printf("consumer: %zu evaluations, %zu best configs, best speedup %.3f\n",
              t.summary().evaluations, t.best_configs().size(), t.summary().best_speedup_tune);
  // All 4 configs are measured; the best within 1.0 loss is perf on both ops: 2.0 / 1.2.
  return t.summary().evaluations == 4 && t.summary().best_speedup_tune > 1.66 ? 0 : 1;
}

#include "approxtune/runtime/app.hpp"

#include "approxtune/runtime/error.hpp"

namespace approxtune {

namespace {

// The simple interface wrapped as an evaluator: stateless, forwards to app::measure, which the
// app documents as thread-safe.
class measure_evaluator final : public evaluator {
 public:
  explicit measure_evaluator(const app& a) : app_(a) {}
  measurement measure(const config_code& code, split s) override { return app_.measure(code, s); }

 private:
  const app& app_;
};

}  // namespace

app::app(std::vector<op_knobs> ops, std::optional<std::string> target_device)
    : space_(std::move(ops), std::move(target_device)) {}

measurement app::measure(const config_code&, split) const {
  throw error("app '" + name() + "' implements neither measure() nor make_evaluator()");
}

std::unique_ptr<evaluator> app::make_evaluator(const slot_info&) const {
  return std::make_unique<measure_evaluator>(*this);
}

std::vector<std::string> app::hpvm_lines(const config_code& code) const {
  std::vector<std::string> lines;
  const std::string device = space_.target_device().value_or("cpu");
  for (std::size_t i = 0; i < space_.num_ops(); ++i) {
    lines.push_back(std::to_string(i + 1) + " " + device + " " + space_.op_name(i) + " " +
                    space_.knob_at(i, code.at(i)).name());
  }
  return lines;
}

}  // namespace approxtune

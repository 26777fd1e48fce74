// `random`: uniform random configurations, never the same one twice.
#include "approxtune/runtime/error.hpp"
#include "approxtune/search/strategies.hpp"
#include "strategy_support.hpp"

namespace approxtune::search::detail {
namespace {

constexpr std::uint64_t random_salt = 0x72616e646f6dULL;  // "random"

class random_strategy final : public strategy {
 public:
  explicit random_strategy(const strategy_context& ctx)
      : seed_(ctx.seed), rng_(ctx.seed, random_salt), proposed_(*ctx.space, ctx.history) {}

  std::string name() const override { return random_strategy_name; }

  std::vector<config_code> propose(std::size_t n) override {
    std::vector<config_code> out;
    out.reserve(n);
    while (out.size() < n) {
      auto code = proposed_.draw_unseen(rng_);
      if (!code) break;  // every configuration was proposed
      proposed_.insert(*code);
      out.push_back(std::move(*code));
    }
    return out;
  }

  void observe(std::span<const observation>) override {}

  nlohmann::json save_state() const override {
    return {{"strategy", name()},
            {"seed", seed_},
            {"rng", rng_.save()},
            {"proposed", proposed_.to_json()}};
  }

  void load_state(const nlohmann::json& state) override {
    if (!state.is_object() || state.value("strategy", std::string()) != name()) {
      throw config_error("load_state: not a saved state of the 'random' strategy");
    }
    try {
      // All or nothing: parse into copies, then commit.
      auto rng = rng_;
      auto proposed = proposed_;
      rng.load(state.at("rng").get<std::string>());
      proposed.from_json(state.at("proposed"));
      seed_ = state.at("seed").get<std::uint64_t>();
      rng_ = std::move(rng);
      proposed_ = std::move(proposed);
    } catch (const nlohmann::json::exception& e) {
      throw config_error(std::string("load_state of 'random': ") + e.what());
    }
  }

 private:
  std::uint64_t seed_;
  strategy_rng rng_;
  proposed_set proposed_;
};

}  // namespace

std::unique_ptr<strategy> make_random_strategy(const strategy_context& ctx) {
  check_context(ctx, random_strategy_name);
  return std::make_unique<random_strategy>(ctx);
}

}  // namespace approxtune::search::detail

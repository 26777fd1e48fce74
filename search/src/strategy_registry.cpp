// The string-keyed strategy factory. Built-ins are registered on first use of the registry, not
// by static initialisers: those would be dropped with their otherwise-unreferenced object files
// when approxtune_search is linked statically.
#include <map>
#include <mutex>
#include <utility>

#include "approxtune/runtime/error.hpp"
#include "approxtune/search/predictive.hpp"
#include "approxtune/search/strategies.hpp"
#include "approxtune/search/strategy.hpp"
#include "mo_support.hpp"
#include "strategy_support.hpp"

namespace approxtune::search {
namespace {

struct registry {
  std::mutex mutex;
  std::map<std::string, strategy_factory> factories;
};

// Returns the registry with the built-ins in it; the caller holds the lock.
registry& locked_registry(std::unique_lock<std::mutex>& lock) {
  static registry r;
  static std::once_flag builtins;
  lock = std::unique_lock<std::mutex>(r.mutex);
  std::call_once(builtins, [] {
    r.factories[random_strategy_name] = detail::make_random_strategy;
    r.factories[opentuner_default_strategy_name] = detail::make_opentuner_strategy;
    r.factories[nsga2_strategy_name] = detail::make_nsga2_strategy;
    r.factories[auto_strategy_name] = detail::make_auto_strategy;
    r.factories[predictive_strategy_name] = detail::make_predictive_strategy;
  });
  return r;
}

}  // namespace

void register_strategy(const std::string& name, strategy_factory factory) {
  if (name.empty()) throw config_error("register_strategy: empty strategy name");
  if (!factory) throw config_error("register_strategy: empty factory for '" + name + "'");
  std::unique_lock<std::mutex> lock;
  locked_registry(lock).factories[name] = std::move(factory);
}

std::unique_ptr<strategy> make_strategy(const std::string& name, const strategy_context& ctx) {
  strategy_factory factory;
  {
    std::unique_lock<std::mutex> lock;
    auto& r = locked_registry(lock);
    const auto it = r.factories.find(name);
    if (it == r.factories.end()) {
      std::string known;
      for (const auto& [n, f] : r.factories) known += (known.empty() ? "" : ", ") + n;
      throw config_error("unknown search strategy '" + name + "'; registered: " + known);
    }
    factory = it->second;
  }
  // Outside the lock: a factory may itself consult the registry.
  return factory(ctx);
}

std::vector<std::string> strategy_names() {
  std::unique_lock<std::mutex> lock;
  auto& r = locked_registry(lock);
  std::vector<std::string> names;
  names.reserve(r.factories.size());
  for (const auto& [n, f] : r.factories) names.push_back(n);
  return names;
}

}  // namespace approxtune::search

#include "strategy_support.hpp"

#include <algorithm>
#include <limits>
#include <sstream>

#include "approxtune/runtime/config.hpp"
#include "approxtune/runtime/error.hpp"

namespace approxtune::search::detail {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Spaces up to this many configurations are enumerated when rejection sampling stalls.
constexpr std::uint64_t max_enumerated = std::uint64_t{1} << 20;
constexpr int rejection_draws = 64;

}  // namespace

strategy_rng::strategy_rng(std::uint64_t seed, std::uint64_t salt)
    : engine_(splitmix64(seed ^ splitmix64(salt))) {}

std::uint64_t strategy_rng::below(std::uint64_t bound) {
  // Accept only draws under the largest multiple of bound, so every residue is equally likely.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t x = engine_();
  while (x >= limit) x = engine_();
  return x % bound;
}

double strategy_rng::uniform01() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

std::string strategy_rng::save() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void strategy_rng::load(const std::string& state) {
  std::istringstream in(state);
  in >> engine_;
  if (!in) throw config_error("strategy state: unreadable RNG state");
}

std::size_t code_hash::operator()(const config_code& code) const noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the indices, then mixed
  for (knob_index k : code) h = (h ^ k) * 0x100000001b3ULL;
  return static_cast<std::size_t>(splitmix64(h));
}

config_code random_config(const knob_space& space, strategy_rng& rng) {
  config_code code(space.num_ops());
  for (std::size_t op = 0; op < code.size(); ++op) {
    code[op] = static_cast<knob_index>(rng.below(space.num_knobs(op)));
  }
  return code;
}

std::optional<std::uint64_t> space_size(const knob_space& space) {
  std::uint64_t size = 1;
  for (std::size_t op = 0; op < space.num_ops(); ++op) {
    const std::uint64_t k = space.num_knobs(op);
    if (k != 0 && size > std::numeric_limits<std::uint64_t>::max() / k) return std::nullopt;
    size *= k;
  }
  return size;
}

proposed_set::proposed_set(const knob_space& space, const proposal_history* history)
    : space_(&space), history_(history), num_ops_(space.num_ops()), size_(space_size(space)) {
  if (history_) synced_at_ = history_->proposed_count();
}

bool proposed_set::contains_own(std::span<const knob_index> code, std::uint64_t h) const {
  return index_
      .find(h, [&](std::size_t i) { return hashes_[i] == h && std::ranges::equal(row(i), code); })
      .has_value();
}

void proposed_set::sync() const {
  if (!history_ || history_->proposed_count() == synced_at_) return;
  synced_at_ = history_->proposed_count();
  std::vector<knob_index> codes;
  std::vector<std::uint64_t> hashes;
  row_index index;
  std::size_t count = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    const auto r = row(i);
    if (history_->proposed(r, hashes_[i])) continue;
    const std::uint64_t h = hashes_[i];
    // The entries are distinct codes already: none of the kept ones can match another.
    index.insert(h, count, [](std::size_t) { return false; }, [&](std::size_t k) { return hashes[k]; });
    codes.insert(codes.end(), r.begin(), r.end());
    hashes.push_back(h);
    ++count;
  }
  codes_ = std::move(codes);
  hashes_ = std::move(hashes);
  index_ = std::move(index);
  count_ = count;
}

std::size_t proposed_set::size() const {
  sync();
  return count_ + (history_ ? history_->proposed_count() : 0);
}

bool proposed_set::contains(std::span<const knob_index> code) const {
  const std::uint64_t h = hash_config(code);
  if (contains_own(code, h)) return true;
  return history_ && history_->proposed(code, h);
}

bool proposed_set::insert(const config_code& code) {
  if (code.size() != num_ops_)
    throw config_error("proposed_set: a configuration of " + std::to_string(code.size()) +
                       " ops in a space of " + std::to_string(num_ops_));
  sync();
  const std::uint64_t h = hash_config(code);
  if (history_ && history_->proposed(code, h)) return false;
  const std::size_t at = index_.insert(
      h, count_, [&](std::size_t i) { return hashes_[i] == h && std::ranges::equal(row(i), code); },
      [&](std::size_t i) { return hashes_[i]; });
  if (at != count_) return false;  // proposed before
  codes_.insert(codes_.end(), code.begin(), code.end());
  hashes_.push_back(h);
  ++count_;
  if (pool_) {
    const auto it = std::lower_bound(pool_->begin(), pool_->end(), encode(code));
    if (it != pool_->end() && *it == encode(code)) pool_->erase(it);
  }
  return true;
}

std::optional<config_code> proposed_set::draw_unseen(strategy_rng& rng) {
  if (exhausted()) return std::nullopt;
  config_code code;
  for (int draw = 0; draw < rejection_draws; ++draw) {
    code = random_config(*space_, rng);
    if (!contains(code)) return code;
  }
  if (!size_ || *size_ > max_enumerated) return code;
  if (!pool_) {
    pool_.emplace();
    pool_->reserve(static_cast<std::size_t>(*size_ - size()));
    for (std::uint64_t index = 0; index < *size_; ++index) {
      if (!contains(decode(index))) pool_->push_back(index);
    }
  }
  return decode((*pool_)[rng.below(pool_->size())]);
}

config_code proposed_set::decode(std::uint64_t index) const {
  config_code code(num_ops_);
  for (std::size_t op = 0; op < code.size(); ++op) {
    const std::uint64_t k = space_->num_knobs(op);
    code[op] = static_cast<knob_index>(index % k);
    index /= k;
  }
  return code;
}

std::uint64_t proposed_set::encode(std::span<const knob_index> code) const {
  std::uint64_t index = 0;
  for (std::size_t op = code.size(); op-- > 0;) index = index * space_->num_knobs(op) + code[op];
  return index;
}

nlohmann::json proposed_set::to_json() const {
  sync();
  nlohmann::json j = nlohmann::json::array();
  auto add = [&](std::span<const knob_index> r) {
    j.push_back(nlohmann::json(std::vector<knob_index>(r.begin(), r.end())));
  };
  if (history_) history_->for_each_proposed(add);
  for (std::size_t i = 0; i < count_; ++i) add(row(i));
  return j;
}

void proposed_set::from_json(const nlohmann::json& j) {
  if (!j.is_array()) throw config_error("strategy state: 'proposed' is not a list");
  proposed_set loaded(*space_, history_);
  for (const auto& c : j) loaded.insert(code_from_json(c, *space_, "proposed configuration"));
  *this = std::move(loaded);
}

config_code code_from_json(const nlohmann::json& j, const knob_space& space, const char* what) {
  config_code code;
  try {
    code = j.get<config_code>();
  } catch (const nlohmann::json::exception& e) {
    throw config_error(std::string("strategy state: ") + what +
                       " is not a list of knob indices: " + e.what());
  }
  if (!space.valid(code)) {
    throw config_error(std::string("strategy state: ") + what + " " + j.dump() +
                       " does not fit this space (" + std::to_string(space.num_ops()) + " ops)");
  }
  return code;
}

void check_context(const strategy_context& ctx, const char* strategy) {
  if (ctx.space == nullptr) {
    throw config_error(std::string("strategy '") + strategy + "': strategy_context::space is null");
  }
  for (std::size_t op = 0; op < ctx.space->num_ops(); ++op) {
    if (ctx.space->num_knobs(op) == 0) {
      throw config_error(std::string("strategy '") + strategy + "': op '" + ctx.space->op_name(op) +
                         "' has no knobs");
    }
  }
}

}  // namespace approxtune::search::detail

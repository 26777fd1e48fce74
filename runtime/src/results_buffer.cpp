#include "approxtune/runtime/results_buffer.hpp"

#include <algorithm>
#include <cmath>

#include "approxtune/runtime/error.hpp"

namespace approxtune {

void results_buffer::reset(std::size_t num_ops) {
  *this = results_buffer(num_ops);
}

std::size_t results_buffer::append(std::span<const knob_index> code, std::uint64_t hash,
                                   double qos, double rel_cost, eval_status status,
                                   std::string reason) {
  if (code.size() != num_ops_) throw error("results_buffer: config length does not match the ops");
  const std::size_t row = size();
  codes_.insert(codes_.end(), code.begin(), code.end());
  hashes_.push_back(hash);
  qos_.push_back(qos);
  cost_.push_back(rel_cost);
  test_qos_.push_back(std::nan(""));
  status_.push_back(status);
  if (status != eval_status::ok) {
    ++failed_;
    reasons_.emplace(row, std::move(reason));
  }
  index_.insert(
      hash, row, [&](std::size_t r) { return hashes_[r] == hash && std::ranges::equal(this->code(r), code); },
      [&](std::size_t r) { return hashes_[r]; });
  return row;
}

std::optional<std::size_t> results_buffer::find(std::span<const knob_index> code,
                                                std::uint64_t hash) const {
  return index_.find(hash, [&](std::size_t r) { return hashes_[r] == hash && std::ranges::equal(this->code(r), code); });
}

const std::string& results_buffer::reason(std::size_t row) const {
  static const std::string none;
  auto it = reasons_.find(row);
  return it == reasons_.end() ? none : it->second;
}

std::optional<double> results_buffer::test_qos(std::size_t row) const {
  double q = test_qos_.at(row);
  if (std::isnan(q)) return std::nullopt;
  return q;
}

}  // namespace approxtune

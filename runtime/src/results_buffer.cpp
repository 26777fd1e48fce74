#include "approxtune/runtime/results_buffer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "approxtune/runtime/error.hpp"

namespace approxtune {

// Record layout: qos (double), relative cost (double), status (1 byte), then the code
// (num_ops knob indices). Unaligned on purpose: read and written with memcpy only.
namespace {
constexpr std::size_t qos_at = 0, cost_at = 8, status_at = 16, code_at = 17;

// Room for one record: on the stack up to 256 ops, on the heap beyond.
class record_scratch {
 public:
  explicit record_scratch(std::size_t bytes) : bytes_(bytes) {
    if (bytes > sizeof(small_)) big_.resize(bytes);
  }
  std::byte* data() noexcept { return big_.empty() ? small_ : big_.data(); }
  std::span<std::byte> span() noexcept { return {data(), bytes_}; }

 private:
  std::size_t bytes_;
  std::byte small_[code_at + 256 * sizeof(knob_index)];
  std::vector<std::byte> big_;
};
}  // namespace

results_buffer::results_buffer(std::size_t num_ops)
    : num_ops_(num_ops),
      record_bytes_(code_at + num_ops * sizeof(knob_index)),
      rows_(record_bytes_) {}

void results_buffer::reset(std::size_t num_ops) {
  *this = results_buffer(num_ops);
}

std::size_t results_buffer::append(std::span<const knob_index> code, std::uint64_t hash,
                                   double qos, double rel_cost, eval_status status,
                                   std::string reason) {
  if (code.size() != num_ops_) throw error("results_buffer: config length does not match the ops");
  const std::size_t row = size_;
  record_scratch scratch(record_bytes_);
  std::byte* r = scratch.data();
  std::memcpy(r + qos_at, &qos, 8);
  std::memcpy(r + cost_at, &rel_cost, 8);
  r[status_at] = static_cast<std::byte>(status);
  if (num_ops_ > 0) std::memcpy(r + code_at, code.data(), num_ops_ * sizeof(knob_index));
  rows_.append(scratch.span());  // first: if the spill file fails, nothing else changed

  if ((row & hash_chunk_mask) == 0)
    hashes_.push_back(std::make_unique<std::uint64_t[]>(std::size_t{1} << hash_chunk_bits));
  hashes_.back()[row & hash_chunk_mask] = hash;
  proposed_.push_back(false);
  ++size_;
  if (status != eval_status::ok) {
    ++failed_;
    reasons_.emplace(row, std::move(reason));
  }
  index_.insert(
      hash, row, [&](std::size_t i) { return this->hash(i) == hash && code_equals(i, code); },
      [&](std::size_t i) { return this->hash(i); });
  return row;
}

bool results_buffer::code_equals(std::size_t row, std::span<const knob_index> code) const {
  record_scratch scratch(record_bytes_);
  rows_.read(row, scratch.span());
  return num_ops_ == 0 || std::memcmp(scratch.data() + code_at, code.data(), num_ops_ * sizeof(knob_index)) == 0;
}

bool results_buffer::proposed_hash(std::uint64_t hash) const {
  return index_.find(hash, [&](std::size_t i) { return this->hash(i) == hash && proposed_[i]; })
      .has_value();
}

std::optional<std::size_t> results_buffer::find(std::span<const knob_index> code,
                                                std::uint64_t hash) const {
  if (code.size() != num_ops_) return std::nullopt;
  return index_.find(hash, [&](std::size_t i) { return this->hash(i) == hash && code_equals(i, code); });
}

result_view results_buffer::decode(const std::byte* rec, knob_index* code) const {
  result_view v{{code, num_ops_}, 0.0, 0.0, eval_status::ok};
  std::memcpy(&v.qos, rec + qos_at, 8);
  std::memcpy(&v.cost, rec + cost_at, 8);
  v.status = static_cast<eval_status>(rec[status_at]);
  if (num_ops_ > 0) std::memcpy(code, rec + code_at, num_ops_ * sizeof(knob_index));
  return v;
}

result_row results_buffer::row(std::size_t row) const {
  if (row >= size_) throw error("results_buffer: row " + std::to_string(row) + " out of range");
  record_scratch scratch(record_bytes_);
  rows_.read(row, scratch.span());
  result_row out;
  out.code.resize(num_ops_);
  const result_view v = decode(scratch.data(), out.code.data());
  out.qos = v.qos;
  out.cost = v.cost;
  out.status = v.status;
  return out;
}

void results_buffer::scan(const std::function<void(std::size_t, const result_view&)>& visit) const {
  config_code code(num_ops_);
  rows_.scan([&](std::size_t first, const std::byte* block, std::size_t count) {
    for (std::size_t k = 0; k < count; ++k) visit(first + k, decode(block + k * record_bytes_, code.data()));
  });
}

void results_buffer::mark_proposed(std::size_t row) {
  if (row >= size_) throw error("results_buffer: row " + std::to_string(row) + " out of range");
  if (!proposed_[row]) {
    proposed_[row] = true;
    ++proposed_count_;
  }
}

const std::string& results_buffer::reason(std::size_t row) const {
  static const std::string none;
  auto it = reasons_.find(row);
  return it == reasons_.end() ? none : it->second;
}

std::optional<double> results_buffer::test_qos(std::size_t row) const {
  if (row >= size_) throw error("results_buffer: row " + std::to_string(row) + " out of range");
  auto it = test_qos_.find(row);
  if (it == test_qos_.end() || std::isnan(it->second)) return std::nullopt;
  return it->second;
}

}  // namespace approxtune

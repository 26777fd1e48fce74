#include "approxtune/runtime/record_spill.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "approxtune/runtime/error.hpp"

namespace approxtune {

namespace {

std::string sys_error() { return std::strerror(errno); }

// pread of exactly @p n bytes at @p offset (retrying short reads and EINTR).
void read_exact(int fd, std::byte* out, std::size_t n, std::size_t offset,
                const std::filesystem::path& dir) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0)
      throw error("cannot read the results spill file in " + dir.string() + ": " +
                  (r < 0 ? sys_error() : std::string("unexpected end of file")));
    got += static_cast<std::size_t>(r);
  }
}

}  // namespace

record_spill::record_spill(std::size_t record_bytes, std::size_t tail_records)
    : record_(std::max<std::size_t>(1, record_bytes)),
      tail_records_(std::max<std::size_t>(1, tail_records)) {}

record_spill::~record_spill() {
  if (fd_ >= 0) ::close(fd_);
}

record_spill::record_spill(record_spill&& o) noexcept
    : record_(o.record_),
      tail_records_(o.tail_records_),
      tail_(std::move(o.tail_)),
      spilled_(std::exchange(o.spilled_, 0)),
      fd_(std::exchange(o.fd_, -1)),
      dir_(std::move(o.dir_)) {
  o.tail_.clear();
}

record_spill& record_spill::operator=(record_spill&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    record_ = o.record_;
    tail_records_ = o.tail_records_;
    tail_ = std::move(o.tail_);
    o.tail_.clear();
    spilled_ = std::exchange(o.spilled_, 0);
    fd_ = std::exchange(o.fd_, -1);
    dir_ = std::move(o.dir_);
  }
  return *this;
}

void record_spill::append(std::span<const std::byte> record) {
  if (record.size() != record_)
    throw error("record_spill: a record of " + std::to_string(record.size()) + " bytes, expected " +
                std::to_string(record_));
  if (tail_count() == tail_records_) spill_tail();
  if (tail_.capacity() == 0) tail_.reserve(record_ * tail_records_);
  tail_.insert(tail_.end(), record.begin(), record.end());
}

void record_spill::spill_tail() {
  if (fd_ < 0) {
    std::error_code ec;
    dir_ = std::filesystem::temp_directory_path(ec);
    if (ec) {
      const char* env = std::getenv("TMPDIR");
      throw error("cannot create the results spill file: no usable temporary folder (TMPDIR=" +
                  std::string(env ? env : "unset") + "): " + ec.message() +
                  "; set TMPDIR to a writable folder");
    }
    std::string name = (dir_ / "approxtune-results-XXXXXX").string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0)
      throw error("cannot create the results spill file in " + dir_.string() + ": " + sys_error() +
                  " (set TMPDIR to a writable folder)");
    ::unlink(name.c_str());  // anonymous from now on: gone with the process, whatever happens
    fd_ = fd;
  }
  const std::byte* p = tail_.data();
  std::size_t left = tail_.size();
  auto offset = static_cast<off_t>(spilled_ * record_);
  while (left > 0) {
    const ssize_t n = ::pwrite(fd_, p, left, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw error("cannot write the results spill file in " + dir_.string() + ": " +
                  (n < 0 ? sys_error() : std::string("no progress")) +
                  " (is the disk full? set TMPDIR to a folder with space)");
    p += n;
    left -= static_cast<std::size_t>(n);
    offset += n;
  }
  spilled_ += tail_count();
  tail_.clear();  // keeps its capacity: the tail's memory is reused, not given back and regrown
}

void record_spill::read(std::size_t i, std::span<std::byte> out) const {
  if (i >= size() || out.size() != record_) throw error("record_spill: read out of range");
  if (i >= spilled_) {
    std::memcpy(out.data(), tail_.data() + (i - spilled_) * record_, record_);
    return;
  }
  read_exact(fd_, out.data(), record_, i * record_, dir_);
}

void record_spill::scan(
    const std::function<void(std::size_t, const std::byte*, std::size_t)>& visit) const {
  if (spilled_ > 0) {
    std::vector<std::byte> block(record_ * tail_records_);
    for (std::size_t first = 0; first < spilled_;) {
      const std::size_t count = std::min(tail_records_, spilled_ - first);
      read_exact(fd_, block.data(), count * record_, first * record_, dir_);
      visit(first, block.data(), count);
      first += count;
    }
  }
  if (tail_count() > 0) visit(spilled_, tail_.data(), tail_count());
}

}  // namespace approxtune

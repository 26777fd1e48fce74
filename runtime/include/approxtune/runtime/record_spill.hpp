/**
 * @file
 * @brief An append-only sequence of fixed-size records whose older part lives in a temporary
 * file: the memory it takes does not grow with the number of records.
 *
 * A long tuning run appends millions of results that it reads back only rarely (a duplicate
 * proposal, the best configurations, one scan at the end). Keeping them in memory made the
 * resident size grow ~100 bytes per evaluation. Here the newest `tail_records` records stay in
 * memory; when that tail is full it is written to an unlinked temporary file with one write()
 * and dropped. Reads of older records are pread()s (the kernel's page cache keeps them fast, and
 * that cache is reclaimable, not the process's resident memory). The file is created in
 * `std::filesystem::temp_directory_path()` (TMPDIR) on the first spill and unlinked at once, so
 * nothing is left behind, even after `kill -9`.
 *
 * Why not SQLite (already a dependency, and the run's durable store): this needs append and
 * read-by-index of fixed-size records only, on the tuner's hot path; a write() per 16,384
 * records and a pread() per random read cost far less than an SQLite insert per record.
 * The durable copy of every result is the store's job, not this class's.
 */
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

namespace approxtune {

class record_spill {
 public:
  /// Records of @p record_bytes bytes; the newest @p tail_records stay in memory.
  explicit record_spill(std::size_t record_bytes = 1, std::size_t tail_records = 16384);
  ~record_spill();
  record_spill(record_spill&& other) noexcept;
  record_spill& operator=(record_spill&& other) noexcept;
  record_spill(const record_spill&) = delete;
  record_spill& operator=(const record_spill&) = delete;

  std::size_t size() const noexcept { return spilled_ + tail_count(); }
  std::size_t record_bytes() const noexcept { return record_; }
  /// Records written to the file so far (the first `spilled()` records).
  std::size_t spilled() const noexcept { return spilled_; }

  /**
   * @brief Appends one record (record_bytes() bytes).
   * @throws error naming the file's folder and the system error when the temporary file cannot
   * be created or written (e.g. the disk is full); the records appended before stay readable.
   */
  void append(std::span<const std::byte> record);

  /** @brief Copies record @p i into @p out (record_bytes() bytes). @throws error on a read failure. */
  void read(std::size_t i, std::span<std::byte> out) const;

  /**
   * @brief Visits every record in order, a block at a time: `visit(first, bytes, count)` gets
   * records [first, first + count) laid out contiguously. Memory: one block of the tail's size.
   */
  void scan(const std::function<void(std::size_t, const std::byte*, std::size_t)>& visit) const;

 private:
  std::size_t tail_count() const noexcept { return tail_.size() / record_; }
  void spill_tail();

  std::size_t record_;
  std::size_t tail_records_;
  std::vector<std::byte> tail_;  // records [spilled_, size())
  std::size_t spilled_ = 0;
  int fd_ = -1;
  std::filesystem::path dir_;  // where the file is (for messages)
};

}  // namespace approxtune

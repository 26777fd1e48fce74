// Read-only views of a results store, the in-memory evaluation cache built from it, and the
// comparison of a stored run with a resume request.
#include <algorithm>
#include <cmath>

#include "approxtune/runtime/error.hpp"
#include "approxtune/runtime/store.hpp"
#include "store_sqlite.hpp"

namespace approxtune {

using detail::sqlite_db;
using detail::statement;

namespace {

std::uint64_t from_sql(std::int64_t v) { return static_cast<std::uint64_t>(v); }

run_status parse_status(const std::string& s) {
  if (s == "running") return run_status::running;
  if (s == "finished") return run_status::finished;
  if (s == "interrupted") return run_status::interrupted;
  return run_status::failed;
}

nlohmann::json parse_json(const std::filesystem::path& file, const std::string& text,
                          const char* column) {
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw store_error("results store '" + file.string() + "': column runs." + column +
                      " is not valid JSON: " + e.what());
  }
}

run_record read_run(const std::filesystem::path& file, const statement& s) {
  run_record r;
  r.id = s.int_at(0);
  r.info.app_name = s.text_at(1);
  r.info.app_hash = from_sql(s.int_at(2));
  r.info.space_hash = from_sql(s.int_at(3));
  r.info.space = parse_json(file, s.text_at(4), "space");
  r.info.options = parse_json(file, s.text_at(5), "options");
  r.info.seed = from_sql(s.int_at(6));
  r.info.strategy = s.text_at(7);
  r.info.devices = s.text_at(8);
  r.info.budget = static_cast<std::size_t>(s.int_at(9));
  r.info.relative = s.int_at(10) != 0;
  r.info.tuner_threshold = s.real_at(11);
  r.info.keep_threshold = s.real_at(12);
  r.version = s.text_at(13);
  r.status = parse_status(s.text_at(14));
  r.started_at = s.real_at(15);
  r.updated_at = s.real_at(16);
  if (!s.null_at(17)) r.ended_at = s.real_at(17);
  r.resumes = static_cast<int>(s.int_at(18));
  r.message = s.text_at(19);
  return r;
}

void read_evaluation(const statement& s, stored_evaluation& e) {
  e.id = s.int_at(0);
  e.run_id = s.int_at(1);
  e.code = s.code_at(2);
  e.hash = from_sql(s.int_at(3));
  e.on = s.int_at(4) == 0 ? split::tune : split::test;
  e.qos = s.real_at(5);
  e.cost = s.real_at(6);
  e.status = s.int_at(7) == 0 ? eval_status::ok : eval_status::failed;
  e.reason = s.text_at(8);
  e.device = s.text_at(9);
  e.slot = static_cast<int>(s.int_at(10));
  e.cached = s.int_at(11) != 0;
  e.at = s.real_at(12);
}

// The rows of a run lie in [min id, max id]: found through the run_id index in O(log n), then
// read as a range of the table itself, which is much faster than one index probe per row.
// (The rows of a run are contiguous unless runs were interleaved; the run_id filter keeps the
// result exact either way.)
std::string run_range_sql(const std::string& columns, const std::string& extra = {}) {
  return "SELECT " + columns +
         " FROM evaluations WHERE id BETWEEN (SELECT min(id) FROM evaluations WHERE run_id=?1) "
         "AND (SELECT max(id) FROM evaluations WHERE run_id=?1) AND run_id=?1" +
         extra + " ORDER BY id";
}

}  // namespace

struct store_reader::impl {
  std::unique_ptr<sqlite_db> db;
};

store_reader::store_reader(const std::filesystem::path& file,
                           std::chrono::milliseconds busy_timeout)
    : file_(file), impl_(std::make_unique<impl>()) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    throw store_error("results store '" + file.string() + "' does not exist");
  if (!std::filesystem::is_regular_file(file, ec))
    throw store_error("results store '" + file.string() + "' is not a regular file");
  impl_->db = std::make_unique<sqlite_db>(file, false);
  sqlite3_busy_timeout(impl_->db->get(), static_cast<int>(busy_timeout.count()));
  detail::check_schema(*impl_->db);
}

store_reader::~store_reader() = default;

std::vector<run_record> store_reader::runs() {
  statement s(*impl_->db,
              (std::string("SELECT ") + detail::run_columns + " FROM runs ORDER BY id").c_str(),
              "reading the runs");
  std::vector<run_record> out;
  while (s.step()) out.push_back(read_run(file_, s));
  return out;
}

std::optional<run_record> store_reader::run(std::int64_t id) {
  statement s(*impl_->db,
              (std::string("SELECT ") + detail::run_columns + " FROM runs WHERE id=?1").c_str(),
              "reading a run");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_run(file_, s);
}

std::optional<run_record> store_reader::latest_run() {
  statement s(*impl_->db,
              (std::string("SELECT ") + detail::run_columns + " FROM runs ORDER BY id DESC LIMIT 1")
                  .c_str(),
              "reading the latest run");
  if (!s.step()) return std::nullopt;
  return read_run(file_, s);
}

run_progress store_reader::progress(std::int64_t run_id) {
  statement s(*impl_->db,
              "SELECT tune_rows, test_rows, failed_rows, cached_rows, first_at, last_at FROM runs "
              "WHERE id=?1",
              "reading the run's progress");
  s.bind(1, run_id);
  run_progress p;
  if (!s.step()) return p;
  p.tune_evaluations = static_cast<std::size_t>(s.int_at(0));
  p.test_evaluations = static_cast<std::size_t>(s.int_at(1));
  p.failed = static_cast<std::size_t>(s.int_at(2));
  p.cached = static_cast<std::size_t>(s.int_at(3));
  p.first_at = s.null_at(4) ? 0.0 : s.real_at(4);
  p.last_at = s.null_at(5) ? 0.0 : s.real_at(5);
  return p;
}

run_points store_reader::points(std::int64_t run_id) {
  statement s(*impl_->db, run_range_sql("id, qos, cost, status", " AND split=0").c_str(),
              "reading the run's results");
  s.bind(1, run_id);
  run_points p;
  while (s.step()) {
    p.ids.push_back(s.int_at(0));
    p.qos.push_back(s.real_at(1));
    p.cost.push_back(s.real_at(2));
    p.ok.push_back(s.int_at(3) == 0 ? 1 : 0);
  }
  // The tuner measures the baseline first, before anything else of the run.
  if (!p.ids.empty() && p.ok[0]) p.baseline = 0;
  return p;
}

std::vector<stored_evaluation> store_reader::evaluations(std::span<const std::int64_t> ids) {
  statement s(
      *impl_->db,
      (std::string("SELECT ") + detail::evaluation_columns + " FROM evaluations WHERE id=?1")
          .c_str(),
      "reading evaluations");
  std::vector<stored_evaluation> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    s.bind(1, ids[i]);
    if (!s.step())
      throw store_error("results store '" + file_.string() + "' has no evaluation " +
                        std::to_string(ids[i]));
    read_evaluation(s, out[i]);
    s.reset();
  }
  return out;
}

void store_reader::for_each(std::int64_t run_id,
                            const std::function<bool(const stored_evaluation&)>& visit) {
  statement s(*impl_->db, run_range_sql(detail::evaluation_columns).c_str(),
              "reading the run's evaluations");
  s.bind(1, run_id);
  stored_evaluation e;
  while (s.step()) {
    read_evaluation(s, e);
    if (!visit(e)) break;
  }
}

void store_reader::for_each_same_app(const run_record& like,
                                     const std::function<void(const stored_evaluation&)>& visit) {
  std::string cols;
  for (const char* c : {"id", "run_id", "code", "hash", "split", "qos", "cost", "status", "reason",
                        "device", "slot", "cached", "at"}) {
    if (!cols.empty()) cols += ", ";
    cols += "e.";
    cols += c;
  }
  statement s(*impl_->db,
              ("SELECT " + cols +
               " FROM evaluations e JOIN runs r ON e.run_id = r.id WHERE r.app_name=?1 AND "
               "r.app_hash=?2 AND r.space_hash=?3 ORDER BY e.id")
                  .c_str(),
              "reading earlier evaluations of the app");
  s.bind(1, like.info.app_name);
  s.bind(2, static_cast<std::int64_t>(like.info.app_hash));
  s.bind(3, static_cast<std::int64_t>(like.info.space_hash));
  stored_evaluation e;
  while (s.step()) {
    read_evaluation(s, e);
    visit(e);
  }
}

std::vector<run_difference> compare_runs(const run_info& stored, const run_info& requested,
                                         std::span<const std::string> may_change) {
  std::vector<run_difference> out;
  if (stored.app_name != requested.app_name)
    out.push_back({"app", stored.app_name, requested.app_name});
  if (stored.space_hash != requested.space_hash || stored.space != requested.space) {
    auto shape = [](const nlohmann::json& s) {
      std::size_t knobs = 0;
      for (const auto& o : s) knobs += o.at("knobs").size();
      return std::to_string(s.size()) + " ops, " + std::to_string(knobs) + " knobs";
    };
    out.push_back({"knob space", shape(stored.space), shape(requested.space)});
  }
  if (stored.app_hash != requested.app_hash)
    out.push_back({"app content (model, data or parameters)", std::to_string(stored.app_hash),
                   std::to_string(requested.app_hash)});
  const auto a = stored.options.flatten(), b = requested.options.flatten();
  auto allowed = [&](const std::string& key) {
    return std::find(may_change.begin(), may_change.end(), key) != may_change.end();
  };
  auto text = [](const nlohmann::json& j, const std::string& key) {
    auto it = j.find(key);
    return it == j.end() ? std::string("(unset)") : it->dump();
  };
  for (const auto& [key, v] : a.items())
    if (!allowed(key) && (!b.contains(key) || b.at(key) != v))
      out.push_back({"options" + key, v.dump(), text(b, key)});
  for (const auto& [key, v] : b.items())
    if (!allowed(key) && !a.contains(key)) out.push_back({"options" + key, "(unset)", v.dump()});
  return out;
}

store_cache::store_cache(store_reader& reader, const run_record& run, bool reuse_other_runs,
                         results_store* sink)
    : sink_(sink) {
  // Rows come in commit order: other runs' results are inserted first-come, and the run's own
  // rows always win, so a resumed run sees exactly what it observed before.
  reader.for_each_same_app(run, [&](const stored_evaluation& e) {
    const bool mine = e.run_id == run.id;
    if (!mine && (!reuse_other_runs || e.status != eval_status::ok)) return;
    put(e.code, e.hash, e.on, cached_result{e.qos, e.cost, e.status, e.reason}, mine);
    ++(mine ? loaded_this_ : loaded_other_);
  });
}

namespace {
std::uint64_t split_hash(std::uint64_t hash, split s) {
  return hash ^ (static_cast<std::uint64_t>(s) * 0x9e3779b97f4a7c15ULL);
}
}  // namespace

store_cache::entry* store_cache::find(std::span<const knob_index> code, std::uint64_t hash,
                                      split s) {
  const auto n = index_.find(split_hash(hash, s), [&](std::size_t i) {
    const entry& e = entries_[i];
    return e.hash == hash && e.on == s && e.code_len == code.size() &&
           std::equal(code.begin(), code.end(),
                      codes_.begin() + static_cast<std::ptrdiff_t>(e.code_at));
  });
  return n ? &entries_[*n] : nullptr;
}

cached_result store_cache::result_of(const entry& e) const {
  cached_result r{e.qos, e.cost, e.status, {}};
  if (const auto it = reasons_.find(static_cast<std::size_t>(&e - entries_.data()));
      it != reasons_.end())
    r.reason = it->second;
  return r;
}

void store_cache::put(std::span<const knob_index> code, std::uint64_t hash, split s,
                      cached_result r, bool this_run) {
  if (entry* e = find(code, hash, s)) {
    if (this_run && !e->this_run) {
      const auto n = static_cast<std::size_t>(e - entries_.data());
      e->qos = r.qos;
      e->cost = r.cost;
      e->status = r.status;
      e->this_run = true;
      if (r.reason.empty()) reasons_.erase(n);
      else reasons_[n] = std::move(r.reason);
    }
    return;
  }
  index_.insert(split_hash(hash, s), entries_.size(), [](std::size_t) { return false; },
                [&](std::size_t i) { return split_hash(entries_[i].hash, entries_[i].on); });
  entries_.push_back({hash, codes_.size(), static_cast<std::uint32_t>(code.size()), s, this_run,
                      r.status, r.qos, r.cost});
  codes_.insert(codes_.end(), code.begin(), code.end());
  if (!r.reason.empty()) reasons_[entries_.size() - 1] = std::move(r.reason);
  ++size_;
}

std::optional<cached_result> store_cache::lookup(std::span<const knob_index> code,
                                                 std::uint64_t hash, split s) {
  entry* e = find(code, hash, s);
  if (e == nullptr) return std::nullopt;
  cached_result result = result_of(*e);
  if (e->this_run) {
    ++hits_this_;
    return result;
  }
  ++hits_other_;
  // First use in this run of a result measured by another: record it as a row of this run so
  // the run's rows list all its observations, and serve it from this run from now on.
  e->this_run = true;
  if (sink_ != nullptr) {
    evaluation ev;
    ev.code.assign(code.begin(), code.end());
    ev.hash = hash;
    ev.on = s;
    ev.qos = result.qos;
    ev.cost = result.cost;
    ev.status = result.status;
    ev.reason = result.reason;
    ev.device = "cache";
    ev.cached = true;
    sink_->record(std::span(&ev, 1));
  }
  return result;
}

void store_cache::add(std::span<const evaluation> evals) {
  for (const auto& e : evals)
    if (e.status != eval_status::skipped)
      put(e.code, e.hash, e.on, cached_result{e.qos, e.cost, e.status, e.reason}, true);
}

}  // namespace approxtune

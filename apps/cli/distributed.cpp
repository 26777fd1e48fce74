#include "distributed.hpp"

#include <map>

#include "approxtune/runtime/logging.hpp"

namespace approxtune::cli {

int serve_worker(const mpi::session& s, const app& a, const std::string& devices,
                 const mpi_args& args) {
  mpi::cluster_options o;
  o.worker_timeout_s = args.worker_timeout_s;
  mpi::serve(s, a, parse_devices(devices, discover_devices()), o);
  return 0;
}

void attach_workers(const mpi::session& s, tune_options& o, const mpi_args& args) {
  o.local_slots = !(args.coordinator_only && s.distributed());
  if (!s.distributed()) return;
  mpi::cluster_options co;
  co.worker_timeout_s = args.worker_timeout_s;
  co.depth = args.prefetch;
  o.remote_slots = mpi::connect_workers(s, co);
  logger()->info("distributed run over {} ranks: {} remote slots, up to {} candidates in flight "
                 "each{}", s.size(), o.remote_slots.size(), co.depth,
                 o.local_slots ? "" : " (rank 0 only coordinates)");
}

std::string evaluations_per_rank(const tune_summary& summary) {
  std::map<int, std::size_t> per_rank;
  for (const auto& st : summary.slots) {
    int rank = 0;
    if (st.device.rfind("rank", 0) == 0) rank = std::stoi(st.device.substr(4));
    per_rank[rank] += st.evaluations;
  }
  std::string out;
  for (const auto& [r, n] : per_rank)
    out += (out.empty() ? "" : ", ") + ("rank " + std::to_string(r)) + ": " + std::to_string(n);
  return out;
}

}  // namespace approxtune::cli

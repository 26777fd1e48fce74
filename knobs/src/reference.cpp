// The reference knob set of reference/knobs.md (HPVM global_knobs numbering).
#include <string>
#include <vector>

#include "approxtune/knobs/catalogue.hpp"

namespace approxtune::knobs {
namespace {

const std::vector<op_kind> all_ops{
    op_kind::conv, op_kind::dense,    op_kind::add,       op_kind::bias_add,  op_kind::relu,
    op_kind::tanh, op_kind::pool_max, op_kind::pool_mean, op_kind::batchnorm, op_kind::softmax};

// Nominal speedups of the table: stride/skip 2, 3, 4 in fp32 and fp16.
double perf_speedup(int x, knob_precision p) {
  if (p == knob_precision::fp32) return x == 2 ? 2.0 : x == 3 ? 1.5 : 1.33;
  return x == 2 ? 3.0 : x == 3 ? 2.25 : 2.0;
}

// fp16 knobs exist on the GPU only: on the CPU fp16 would be an accuracy simulation without a
// speedup, so it is not offered to the tuner there (knobs::fp16_on_cpu::simulate maps it
// explicitly for accuracy studies).
std::vector<std::string> devices_for(knob_precision p) {
  return p == knob_precision::fp32 ? std::vector<std::string>{"cpu", "gpu"}
                                   : std::vector<std::string>{"gpu"};
}

knob_catalogue build_reference() {
  std::vector<knob_info> knobs;

  knob_info fp32;
  fp32.id = 11;
  fp32.label = "fp32 baseline";
  fp32.kind = knob_kind::baseline;
  fp32.precision = knob_precision::fp32;
  fp32.devices = {"cpu", "gpu"};
  fp32.ops = all_ops;
  fp32.nominal_speedup = 1.0;
  fp32.baseline_priority = 1;
  knobs.push_back(fp32);

  knob_info fp16 = fp32;
  fp16.id = 12;
  fp16.label = "fp16 baseline";
  fp16.precision = knob_precision::fp16;
  fp16.devices = {"gpu"};
  fp16.nominal_speedup = 1.5;
  fp16.baseline_priority = 2;  // beats 11 wherever both exist, i.e. on the GPU
  knobs.push_back(fp16);

  for (knob_precision p : {knob_precision::fp32, knob_precision::fp16}) {
    const int base = p == knob_precision::fp32 ? 121 : 151;
    const std::string tag = p == knob_precision::fp32 ? "perf_fp32" : "perf_fp16";
    // Order: col 2, row 2, col 3, row 3, col 4, row 4; offsets 0 .. stride-1 within each.
    int id = base;
    for (int x = 2; x <= 4; ++x) {
      for (bool rows : {false, true}) {
        for (int s = 0; s < x; ++s) {
          knob_info k;
          k.id = id++;
          k.label = tag + (rows ? " row" : " col") + " stride " + std::to_string(x) + " offset " +
                    std::to_string(s);
          k.kind = knob_kind::perforation;
          k.precision = p;
          k.perforate_rows = rows;
          k.stride = x;
          k.offset = s;
          k.devices = devices_for(p);
          k.ops = {op_kind::conv};
          k.nominal_speedup = perf_speedup(x, p);
          knobs.push_back(k);
        }
      }
    }
  }

  for (knob_precision p : {knob_precision::fp32, knob_precision::fp16}) {
    int id = p == knob_precision::fp32 ? 231 : 261;
    const std::string tag = p == knob_precision::fp32 ? "samp_fp32" : "samp_fp16";
    for (int e = 2; e <= 4; ++e) {
      for (int off = 0; off < e; ++off) {
        knob_info k;
        k.id = id++;
        k.label = tag + " skip " + std::to_string(e) + " offset " + std::to_string(off);
        k.kind = knob_kind::filter_sampling;
        k.precision = p;
        k.skip = e;
        k.offset = off;
        k.devices = devices_for(p);
        k.ops = {op_kind::conv};
        k.nominal_speedup = perf_speedup(e, p);
        knobs.push_back(k);
      }
    }
  }

  // 41-46: pairs (fp32, fp16) for skipping 50 %, 40 % and 25 % of each reduction window.
  struct red {
    int num, den;
    double fp32_speedup, fp16_speedup;
    const char* percent;
  };
  const red reds[] = {{1, 2, 1.5, 2.25, "50%"}, {2, 5, 1.4, 2.0, "40%"}, {1, 4, 1.25, 1.8, "25%"}};
  int id = 41;
  for (const red& r : reds) {
    for (knob_precision p : {knob_precision::fp32, knob_precision::fp16}) {
      knob_info k;
      k.id = id++;
      k.label = std::string(p == knob_precision::fp32 ? "red_samp_fp32" : "red_samp_fp16") +
                " skip " + r.percent;
      k.kind = knob_kind::reduction_sampling;
      k.precision = p;
      k.skip_num = r.num;
      k.skip_den = r.den;
      k.devices = devices_for(p);
      k.ops = {op_kind::pool_max, op_kind::pool_mean};
      k.nominal_speedup = p == knob_precision::fp32 ? r.fp32_speedup : r.fp16_speedup;
      knobs.push_back(k);
    }
  }

  for (auto& k : knobs) k.name = std::to_string(k.id);
  return knob_catalogue(std::move(knobs));
}

}  // namespace

const knob_catalogue& knob_catalogue::reference() {
  static const knob_catalogue catalogue = build_reference();
  return catalogue;
}

}  // namespace approxtune::knobs

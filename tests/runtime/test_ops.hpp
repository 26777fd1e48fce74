// Shared by the runtime and search tests: a knob-space declaration of n ops that each take the
// same k knobs.
#pragma once

#include <string>
#include <vector>

#include "approxtune/runtime/knob_space.hpp"

namespace approxtune::test_support {

inline std::vector<op_knobs> uniform_ops(std::size_t n, std::size_t k) {
  std::vector<knob> ks;
  for (std::size_t i = 0; i < k; ++i) ks.emplace_back("k" + std::to_string(i));
  std::vector<op_knobs> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back({"op" + std::to_string(i), ks});
  return out;
}

}  // namespace approxtune::test_support

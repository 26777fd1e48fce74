#include "approxtune/runtime/config.hpp"

namespace approxtune {

std::uint64_t hash_config(std::span<const knob_index> code) noexcept {
  // FNV-1a over the little-endian bytes of each index, then a splitmix64 finaliser so that
  // configs differing in one op spread over all 64 bits (the cache and the store key on it).
  std::uint64_t h = 1469598103934665603ULL;
  for (knob_index k : code) {
    h ^= static_cast<std::uint64_t>(k & 0xffu);
    h *= 1099511628211ULL;
    h ^= static_cast<std::uint64_t>(k >> 8);
    h *= 1099511628211ULL;
  }
  h ^= code.size();
  h += 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

const char* to_string(split s) noexcept { return s == split::tune ? "tune" : "test"; }

}  // namespace approxtune

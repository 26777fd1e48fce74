// ThreadSanitizer annotations for oneTBB (linked only into the TSan build's executables; see
// APPROXTUNE_SANITIZE in cmake/approxtune_helpers.cmake).
//
// Debian's libtbb.so.12 is not built with -fsanitize=thread, so TSan cannot see the
// synchronisation oneTBB performs inside it: the hand-over of a task's memory from the thread
// that freed it (small-object pool) to the thread that allocates it next, and the end of
// `wait_for_all`/`wait` after every task released the graph's wait_context. Without it every
// engine run reports "races" between a TBB worker and the main thread on TBB's own task objects
// and on the results the tasks wrote (reproduced with a 20-line tbb::flow program and no
// approxtune code). This library tells TSan about exactly those hand-overs, and nothing else:
//  * With TBB_USE_PROFILING_TOOLS=2 (set for the TSan build) oneTBB's headers call
//    r1::call_itt_notify(acquired|releasing, address) at the points where oneTBB itself
//    synchronises (task spawn, the end of wait/execute_and_wait on a wait_context, the
//    aggregator behind flow-graph nodes): the hooks oneTBB provides for threading tools. Here
//    they become __tsan_acquire/__tsan_release on that address. prepare/cancel/destroy are
//    no-ops, as for any analysis tool.
//  * r1::deallocate releases the block and r1::allocate acquires it: the pool only returns a
//    block to a new owner after its previous owner gave it back.
// These add happens-before edges that exist in oneTBB, so they can hide no race between two
// accesses that oneTBB does not order; races in approxtune's code (or between our code and a
// task) are still reported. Each wrapper forwards to libtbb's own function (dlsym RTLD_NEXT):
// the library must come before libtbb in the link order (checked when it is loaded).
// Not covered (why TSan is not yet in CI): the acquire side of a spawn. The worker takes the
// task from its deque inside libtbb and calls execute() with no header code or exported
// function in between, so the release at spawn has no matching acquire; TSan then reports
// a task body (e.g. engine::impl::run) against the thread that queued it. Only a libtbb built
// with -fsanitize=thread removes those.
#include <dlfcn.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>

#include <oneapi/tbb/detail/_small_object_pool.h>
#include <oneapi/tbb/profiling.h>

extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

namespace {
template <typename F>
F next_definition(const char* mangled) {
  void* f = dlsym(RTLD_NEXT, mangled);
  if (f == nullptr) {
    std::fprintf(stderr, "tsan_tbb_annotations: %s not found in libtbb\n", mangled);
    std::abort();
  }
  return reinterpret_cast<F>(f);
}
}  // namespace

namespace tbb::detail::r1 {

void call_itt_notify(int type, void* ptr) {
  if (type == d1::acquired) __tsan_acquire(ptr);
  else if (type == d1::releasing) __tsan_release(ptr);
}

void* allocate(d1::small_object_pool*& pool, std::size_t bytes, const d1::execution_data& ed) {
  static auto real = next_definition<void* (*)(d1::small_object_pool*&, std::size_t,
                                               const d1::execution_data&)>(
      "_ZN3tbb6detail2r18allocateERPNS0_2d117small_object_poolEmRKNS2_14execution_dataE");
  void* p = real(pool, bytes, ed);
  __tsan_acquire(p);
  return p;
}

void* allocate(d1::small_object_pool*& pool, std::size_t bytes) {
  static auto real = next_definition<void* (*)(d1::small_object_pool*&, std::size_t)>(
      "_ZN3tbb6detail2r18allocateERPNS0_2d117small_object_poolEm");
  void* p = real(pool, bytes);
  __tsan_acquire(p);
  return p;
}

void deallocate(d1::small_object_pool& pool, void* p, std::size_t bytes,
                const d1::execution_data& ed) {
  static auto real = next_definition<void (*)(d1::small_object_pool&, void*, std::size_t,
                                              const d1::execution_data&)>(
      "_ZN3tbb6detail2r110deallocateERNS0_2d117small_object_poolEPvmRKNS2_14execution_dataE");
  __tsan_release(p);
  real(pool, p, bytes, ed);
}

void deallocate(d1::small_object_pool& pool, void* p, std::size_t bytes) {
  static auto real = next_definition<void (*)(d1::small_object_pool&, void*, std::size_t)>(
      "_ZN3tbb6detail2r110deallocateERNS0_2d117small_object_poolEPvm");
  __tsan_release(p);
  real(pool, p, bytes);
}

}  // namespace tbb::detail::r1

namespace {
// Fails loudly if the link order let libtbb's own definitions win (the annotations would be
// silently missing and TSan would report oneTBB's internal hand-overs again).
void check_interposed();
[[gnu::constructor]] void check_interposed() {
  Dl_info used{}, ours{};
  void* resolved = dlsym(RTLD_DEFAULT, "_ZN3tbb6detail2r115call_itt_notifyEiPv");
  if (resolved == nullptr || dladdr(resolved, &used) == 0 ||
      dladdr(reinterpret_cast<void*>(&check_interposed), &ours) == 0 ||
      used.dli_fbase != ours.dli_fbase) {
    std::fprintf(stderr, "tsan_tbb_annotations: libtbb precedes this library in the link order\n");
    std::abort();
  }
}
}  // namespace

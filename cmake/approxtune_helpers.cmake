add_library(approxtune_warnings INTERFACE)
target_compile_options(approxtune_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>
  # GCC 12 reports -Wrestrict false positives inside libstdc++'s string concatenation (GCC PR105651).
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wno-restrict>)
install(TARGETS approxtune_warnings EXPORT approxtune-targets)

if(APPROXTUNE_SANITIZE)
  add_compile_options(-fsanitize=${APPROXTUNE_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${APPROXTUNE_SANITIZE})
  if(APPROXTUNE_SANITIZE MATCHES "thread")
    # TSan only sees the synchronisation inside libtbb (a task spawned on one thread and run on
    # a worker, the end of a wait) when libtbb itself is instrumented: Debian's is not, and
    # then every engine run reports false races. scripts/build_tsan_tbb.sh builds the installed
    # oneTBB version with -fsanitize=thread; configure with -DTBB_DIR=<its prefix>/lib/cmake/TBB
    # (the build RPATH then points the tests and the CLI at it). Checked here: an instrumented
    # libtbb references the TSan runtime's __tsan_func_entry.
    get_target_property(_tbb_lib TBB::tbb LOCATION)
    file(STRINGS "${_tbb_lib}" _tbb_tsan REGEX "__tsan_func_entry" LIMIT_COUNT 1)
    if(NOT _tbb_tsan)
      message(FATAL_ERROR "APPROXTUNE_SANITIZE=thread needs a libtbb built with -fsanitize=thread, "
        "but ${_tbb_lib} is not: run scripts/build_tsan_tbb.sh <dir> and configure with "
        "-DTBB_DIR=<dir>/prefix/lib/cmake/TBB")
    endif()
  endif()
endif()

# approxtune_add_area(<area> SOURCES ... [ROOT dir] [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# One library per top-level folder: target approxtune_<area>, alias approxtune::<area>,
# public headers in <area>/include, installed and exported.
function(approxtune_add_area area)
  cmake_parse_arguments(A "" "ROOT" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  if(NOT A_ROOT)
    set(A_ROOT ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  add_library(approxtune_${area} ${A_SOURCES})
  add_library(approxtune::${area} ALIAS approxtune_${area})
  set_target_properties(approxtune_${area} PROPERTIES EXPORT_NAME ${area} OUTPUT_NAME approxtune_${area})
  target_include_directories(approxtune_${area} PUBLIC
    $<BUILD_INTERFACE:${A_ROOT}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(approxtune_${area} PUBLIC cxx_std_20)
  target_link_libraries(approxtune_${area} PUBLIC ${A_PUBLIC_DEPS}
    PRIVATE ${A_PRIVATE_DEPS} $<BUILD_INTERFACE:approxtune_warnings>)
  install(TARGETS approxtune_${area} EXPORT approxtune-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY ${A_ROOT}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

# approxtune_add_test(<name> SOURCES ... LIBS ...): a GoogleTest executable, discovered by CTest.
function(approxtune_add_test name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS} GTest::gtest GTest::gmock GTest::gtest_main approxtune_warnings)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${A_LABELS}")
endfunction()

# approxtune_add_benchmark(<name> SOURCES ... LIBS ...): a Google Benchmark executable.
function(approxtune_add_benchmark name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS} benchmark::benchmark approxtune_warnings)
endfunction()

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
    # libtbb is not instrumented: oneTBB's thread-tool notifications (TBB_USE_PROFILING_TOOLS=2)
    # and its small-object pool are mapped to TSan happens-before annotations, so TSan sees the
    # synchronisation oneTBB does inside libtbb (why and what: the comment in the source).
    # Linked (first, before libtbb) into every test and the CLI: approxtune_add_test, and the
    # top-level CMakeLists.txt for approxtune_cli.
    add_compile_definitions(TBB_USE_PROFILING_TOOLS=2)
    add_library(approxtune_tsan_tbb SHARED ${CMAKE_CURRENT_LIST_DIR}/sanitizers/tsan_tbb_annotations.cpp)
    target_link_libraries(approxtune_tsan_tbb PRIVATE TBB::tbb ${CMAKE_DL_LIBS})
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
  if(TARGET approxtune_tsan_tbb)
    target_link_libraries(${name} PRIVATE approxtune_tsan_tbb)  # first: it must precede libtbb
  endif()
  target_link_libraries(${name} PRIVATE ${A_LIBS} GTest::gtest GTest::gmock GTest::gtest_main approxtune_warnings)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${A_LABELS}")
endfunction()

# approxtune_add_benchmark(<name> SOURCES ... LIBS ...): a Google Benchmark executable.
function(approxtune_add_benchmark name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS} benchmark::benchmark approxtune_warnings)
endfunction()

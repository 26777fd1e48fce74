# Thrust for the host (CPU) builds, on oneTBB's device system.
# Prefer the CUDA toolkit's CCCL (pinned, so Debian's libthrust-dev is never mixed in); without a
# toolkit use Debian's libthrust-dev. Everything that includes <thrust/...> links
# approxtune_thrust_host, and only privately: no Thrust type crosses a public header.
set(APPROXTUNE_THRUST_SOURCE none)
if(EXISTS /usr/local/cuda/lib64/cmake/thrust)
  find_package(Thrust 3.0 REQUIRED CONFIG PATHS /usr/local/cuda/lib64/cmake NO_DEFAULT_PATH)
  set(APPROXTUNE_THRUST_SOURCE "CCCL ${Thrust_VERSION}")
else()
  find_package(Thrust REQUIRED CONFIG)
  set(APPROXTUNE_THRUST_SOURCE "system ${Thrust_VERSION}")
endif()
thrust_create_target(approxtune_thrust_host HOST CPP DEVICE TBB)

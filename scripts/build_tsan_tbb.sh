#!/usr/bin/env bash
# Builds oneTBB with -fsanitize=thread, for the ThreadSanitizer build (scripts/ci_extra.sh).
#   usage: scripts/build_tsan_tbb.sh <work dir>     (prints nothing else on stdout but the prefix)
# Debian's libtbb.so is not instrumented, so TSan cannot see the synchronisation oneTBB does
# inside it (a task spawned on one thread and run on a worker is reported as a race). This
# rebuilds exactly the installed version from Debian's own source package, Debian's patches
# applied, and installs it into <work dir>/prefix; the TSan build then uses
# -DTBB_DIR=<prefix>/lib/cmake/TBB (and its RPATH points at <prefix>/lib).
# The source comes from Debian's repositories through a private apt configuration in <work dir>
# (the machine's sources and package lists are not touched); apt checks it against the archive's
# signed Release file. Nothing is committed or vendored. Cached: when <work dir>/prefix already
# holds this version, built by this compiler and this script, nothing is downloaded or built.
set -euo pipefail
work=$(mkdir -p "${1:?usage: $0 <work dir>}" && cd "$1" && pwd)
prefix=$work/prefix
# The version of the installed headers (libtbb-dev): the TSan library must match them.
version=$(dpkg-query -W -f='${Version}' libtbb-dev 2>/dev/null) || {
  echo "build_tsan_tbb: libtbb-dev is not installed (run scripts/setup.sh)" >&2; exit 1; }
# The compiler: the one the approxtune TSan build uses (CXX, else c++, i.e. GCC 12), so that all
# the instrumented code targets the one TSan runtime that build links (GCC's libtsan).
cxx=$(command -v "${CXX:-c++}") || { echo "build_tsan_tbb: no C++ compiler ${CXX:-c++}" >&2; exit 1; }
# Cache key: the version, the compiler and this script (a changed recipe rebuilds).
stamp="$version $(readlink -f "$cxx") $(sha256sum < "${BASH_SOURCE[0]}" | cut -c1-16)"
if [ "$(cat "$prefix/build-stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "build_tsan_tbb: oneTBB $version (TSan) already in $prefix" >&2
  echo "$prefix"; exit 0
fi
echo "build_tsan_tbb: building oneTBB $version with -fsanitize=thread in $work" >&2
t0=$SECONDS

# 1. Fetch onetbb=<version> with a private apt configuration (deb-src only, own lists/cache).
apt=$work/apt
rm -rf "$apt" "$work/src" "$work/build" && mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$work/src"
cat > "$apt/sources.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(-o "Dir::Etc::sourcelist=$apt/sources.sources" -o Dir::Etc::sourceparts=-
          -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
          -o APT::Sandbox::User=root -qq)
apt-get "${apt_opts[@]}" update >&2
(cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only "onetbb=$version" >&2) || {
  echo "build_tsan_tbb: Debian source package onetbb=$version is not available from" \
       "deb.debian.org (bookworm, bookworm-updates, bookworm-security); it must match the" \
       "installed libtbb-dev" >&2; exit 1; }
# 2. Extract with Debian's patches applied. dpkg-source checks the files against the .dsc's
# checksums (apt checked the .dsc against the signed archive); its warning that it cannot verify
# the uploader's own signature (no debian-keyring installed) is expected.
(cd "$work/src" && dpkg-source -x ./*.dsc tbb >&2)
t1=$SECONDS

# 3. Configure, build, install: only libtbb (approxtune links TBB::tbb only: no tbbmalloc, no
# tbbbind/hwloc, no tests or examples). TBB_SANITIZE is oneTBB's own option (adds
# -fsanitize=<value>); TBB_STRICT=OFF: no -Werror on a third-party build.
cmake -S "$work/src/tbb" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_COMPILER=$cxx" -DTBB_SANITIZE=thread \
  -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBBMALLOC_BUILD=OFF -DTBBMALLOC_PROXY_BUILD=OFF \
  -DTBB_DISABLE_HWLOC_AUTOMATIC_SEARCH=ON -DTBB_STRICT=OFF \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib >&2
cmake --build "$work/build" -j "${JOBS:-$(nproc)}" >&2
rm -rf "$prefix" && cmake --install "$work/build" >&2
echo "$stamp" > "$prefix/build-stamp"
echo "build_tsan_tbb: fetch + extract $((t1 - t0)) s, configure + build + install $((SECONDS - t1)) s" >&2
echo "$prefix"

# shellcheck shell=bash
# Shared by tools/test and tools/bench: finding interpreters and preparing,
# for one of them, a cached venv with the backport built and installed and
# the C test extension compiled.  Source it; it expects $root and $cache.

BINDGEN_VERSION=0.72.1
MATURIN_VERSION=1.16.0
: "${root:?lib.sh expects \$root}" "${cache:?lib.sh expects \$cache}"
export CARGO_TARGET_DIR=$cache/target

ensure_apt() {  # ensure_apt PACKAGE...: install the Debian packages missing
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# sid_apt STATE-DIR APT-GET-ARG...: apt-get against Debian sid, with its own
# state in STATE-DIR, leaving the machine's apt configuration alone.  Only
# for downloads (source tarballs, headers); nothing is installed from it.
sid_apt() {
    local state=$1; shift
    mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/etc/parts"
    local repo="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main"
    printf 'deb %s\ndeb-src %s\n' "$repo" "$repo" > "$state/etc/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$state/etc/sources.list"
                -o "Dir::Etc::SourceParts=$state/etc/parts"
                -o "Dir::Etc::Preferences=$state/etc/preferences"
                -o "Dir::Etc::PreferencesParts=$state/etc/parts"
                -o "Dir::State::Lists=$state/lists"
                -o "Dir::Cache=$state/cache"
                -o "APT::Sandbox::User=root")
    if [ ! -e "$state/updated" ]; then
        apt-get "${opts[@]}" -qq update >&2 && touch "$state/updated" || return 1
    fi
    apt-get "${opts[@]}" -qq "$@" >&2
}

ensure_bindgen() {
    ensure_apt libclang-dev || return 1
    if ! bindgen --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
        cargo install --quiet --locked "bindgen-cli@$BINDGEN_VERSION" || return 1
    fi
}

ensure_maturin() {
    local venv=$cache/tools
    if ! "$venv/bin/maturin" --version 2>/dev/null | grep -q "$MATURIN_VERSION"; then
        python3 -m venv "$venv" && "$venv/bin/pip" install -q "maturin==$MATURIN_VERSION"
    fi
}

find_python() {  # find_python X.Y: the newest pyenv X.Y.*, else pythonX.Y
    local root
    if root=$(pyenv root 2>/dev/null); then
        local found
        found=$(ls -d "$root"/versions/"$1".*/bin/python 2>/dev/null | sort -V | tail -n 1)
        [ -n "$found" ] && { echo "$found"; return 0; }
    fi
    command -v "python$1"
}

# built_python [patched-]VARIANT: the interpreter tools/build-cpython built
# (or builds now) as VARIANT, with the patch series for patched-VARIANT.
built_python() {
    local patched=()
    [ "${1#patched-}" != "$1" ] && patched=(--patched)
    "$root/tools/build-cpython" --variant "${1#patched-}" "${patched[@]}" --quiet
}

# make_venv DIR PYTHON: a venv in DIR for PYTHON, kept if it exists.  A venv
# made for another interpreter under the same name (a rebuilt CPython lives
# in a new cache directory), or whose interpreter is gone, is made again.
make_venv() {
    local dir=$1 python=$2
    if [ -e "$dir" ] && [ "$("$dir/bin/python" -c \
            'import sys; print(sys.base_prefix)' 2>/dev/null)" \
            != "$("$python" -c 'import sys; print(sys.prefix)')" ]; then
        rm -rf "$dir"
    fi
    if [ ! -x "$dir/bin/python" ]; then
        "$python" -m venv "$dir" || return 1
    fi
}

# is_asan_python PYTHON: whether PYTHON was built with AddressSanitizer
# (tools/build-cpython --variant asan).
is_asan_python() {
    "$1" -c 'import sys, sysconfig
sys.exit("--with-address-sanitizer" not in sysconfig.get_config_var("CONFIG_ARGS"))'
}

# prepare X.Y: a venv for CPython X.Y with the test dependencies, the
# backport wheel built from this tree and installed, and the C test
# extension built into $cache/ext/X.Y; for an interpreter built with ASan,
# both instrumented like it (see tests/build.py for the extensions).  Prints nothing on success but
# maturin's progress; sets $venv.
#
# prepare NAME PYTHON [native]: the same for the interpreter PYTHON (e.g.
# one built by tools/build-cpython), cached under NAME.  With "native" (an
# interpreter that implements the API) the backport is left out: the test
# extensions use the interpreter's own API.
prepare() {
    local version=$1 python=${2:-} native=${3:-} wheels
    if [ -z "$python" ]; then
        python=$(find_python "$version") || { echo "no Python $version found" >&2; return 1; }
    fi
    venv=$cache/venv-$version
    wheels=$cache/wheels/$version
    make_venv "$venv" "$python" || return 1
    "$venv/bin/pip" install -q -r "$root/tests/requirements.txt" || return 1
    if [ "$native" = native ]; then
        "$venv/bin/pip" uninstall -q -y pyawaitable-backport >/dev/null 2>&1
    else
        ensure_maturin || return 1
        rm -rf "$wheels"
        local -a sanitized=() sanitized_target=()
        if is_asan_python "$venv/bin/python"; then
            # The interpreter carries ASan's runtime (clang links it into
            # the executable and exports it); the backport only needs the
            # instrumentation, which stable rustc gives behind
            # RUSTC_BOOTSTRAP, and links no runtime into a cdylib.  With
            # --target, RUSTFLAGS leave the build scripts alone.  A target
            # directory of its own: other flags would rebuild everything.
            sanitized=(env RUSTC_BOOTSTRAP=1
                       "RUSTFLAGS=-Zsanitizer=address -Cforce-frame-pointers=yes"
                       "CARGO_TARGET_DIR=$cache/target-asan")
            sanitized_target=(--target "$(rustc -vV | sed -n 's/^host: //p')")
        fi
        (cd "$root/backport" && "${sanitized[@]}" "$cache/tools/bin/maturin" build --quiet --release \
            --interpreter "$venv/bin/python" --out "$wheels" "${sanitized_target[@]}") || return 1
        "$venv/bin/pip" install -q --force-reinstall --no-deps "$wheels"/*.whl || return 1
    fi
    "$venv/bin/python" "$root/tests/build.py" "$cache/ext/$version" >/dev/null
}

# run_demo VENV: the demo extension (backport/examples/demo) built into VENV
# the way an extension author would (setup.py against the installed
# backport's header, pip without build isolation, from a temporary copy so
# the tree stays clean), then run under asyncio, uvloop and trio, each
# result checked.  VENV has the backport, setuptools, uvloop and trio.
run_demo() {
    local venv=$1 tmp rc=0
    tmp=$(mktemp -d)
    cp "$root"/backport/examples/demo/{demo.c,setup.py} "$tmp"
    "$venv/bin/pip" install -q --no-build-isolation --no-deps --force-reinstall "$tmp" || rc=$?
    rm -rf "$tmp"
    [ $rc -eq 0 ] || { echo "building the demo failed" >&2; return $rc; }
    "$venv/bin/python" "$root/backport/examples/demo/run_demo.py"
}

# EXAMPLES: the example projects in backport/examples, each built with its
# own build backend.
EXAMPLES=(setuptools meson scikit-build asgi)

# prepare_examples X.Y [PYTHON]: after prepare (whose wheel it installs), a
# venv of its own for the examples, $cache/venv-examples-X.Y (their build
# backends and uvicorn stay out of the shared suite's venv), with their
# pinned requirements, and every example built and installed from a copy of
# its directory (the tree stays clean) with pip, without build isolation:
# the backends are the pinned ones, nothing is downloaded per build.  Sets
# $examples_venv and $examples_dir (the copies, with their tests).
prepare_examples() {
    local version=$1 python=${2:-} name
    if [ -z "$python" ]; then
        python=$(find_python "$version") || { echo "no Python $version found" >&2; return 1; }
    fi
    examples_venv=$cache/venv-examples-$version
    examples_dir=$cache/examples/$version
    make_venv "$examples_venv" "$python" || return 1
    "$examples_venv/bin/pip" install -q -r "$root/backport/examples/requirements.txt" || return 1
    "$examples_venv/bin/pip" install -q --force-reinstall --no-deps \
        "$cache/wheels/$version"/*.whl || return 1
    rm -rf "$examples_dir"
    mkdir -p "$examples_dir"
    for name in "${EXAMPLES[@]}"; do
        cp -r "$root/backport/examples/$name" "$examples_dir/$name"
        # ninja and cmake come from the venv's pinned wheels.
        PATH="$examples_venv/bin:$PATH" "$examples_venv/bin/pip" install -q \
            --no-build-isolation --no-deps --force-reinstall "$examples_dir/$name" \
            || { echo "building the $name example failed" >&2; return 1; }
    done
}

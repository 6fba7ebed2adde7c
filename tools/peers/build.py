"""Build tools/bench's peers for the interpreter running this file.

    python tools/peers/build.py OUT_DIR [MATURIN]

Each peer becomes an extension module in OUT_DIR: _peer_pyawaitable2 (C,
against the header pyawaitable 2.0.1 vendors), _peer_cython (Cython 3.3.1
``async def``) and _peer_pyo3 (a PyO3 0.30.1 crate built with maturin).
OUT_DIR/status.json records, per peer, whether it built and, if not, why:
a peer that fails to build is reported by tools/bench, not hidden.  The
C and Cython builds are skipped while their inputs are unchanged; cargo
keeps the PyO3 build incremental.
"""

import hashlib
import json
import pathlib
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")


def version(dist):
    from importlib.metadata import version
    return version(dist)


def compile_c(name, source, out_dir, include=()):
    """Compile source into out_dir/name.so with the interpreter's CFLAGS,
    as setuptools would (optimized, and -DNDEBUG: pyawaitable 2.0.1's
    header has an assertion that always fails)."""
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    cflags = shlex.split(sysconfig.get_config_var("CFLAGS") or "-O2 -DNDEBUG")
    cmd = [*cc, *cflags, "-shared", "-fPIC", "-w",
           "-I", sysconfig.get_paths()["include"],
           *(f"-I{path}" for path in include),
           str(source), "-o", str(out_dir / (name + SUFFIX))]
    run(cmd)


def run(cmd, **kwargs):
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        # The last lines say why; the status keeps them.
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise RuntimeError(f"{shlex.join(map(str, cmd[:3]))} ... failed:\n"
                           + "\n".join(tail))
    return done


def stamped(out_dir, name, *inputs):
    """True if name's build in out_dir is from these inputs; else record
    them and return False (the caller then builds)."""
    digest = hashlib.sha256()
    for item in inputs:
        digest.update(item if isinstance(item, bytes) else str(item).encode())
    digest.update(sys.version.encode())
    # How it is built is an input too.
    digest.update(pathlib.Path(__file__).read_bytes())
    digest.update(str(sysconfig.get_config_var("CFLAGS")).encode())
    digest.update(sysconfig.get_paths()["include"].encode())
    stamp = out_dir / f"{name}.stamp"
    target = out_dir / (name + SUFFIX)
    fresh = digest.hexdigest()[:16]
    if target.exists() and stamp.exists() and stamp.read_text() == fresh:
        return True, (stamp, fresh)
    return False, (stamp, fresh)


def build_pyawaitable2(out_dir, maturin):
    import pyawaitable
    source = HERE / "pyawaitable2" / "_peer_pyawaitable2.c"
    header = pathlib.Path(pyawaitable.include(), "pyawaitable.h")
    done, (stamp, fresh) = stamped(out_dir, "_peer_pyawaitable2",
                                   source.read_bytes(), header.read_bytes())
    if not done:
        compile_c("_peer_pyawaitable2", source, out_dir,
                  include=[pyawaitable.include()])
        stamp.write_text(fresh)
    return f"pyawaitable {pyawaitable.__version__}"


def build_cython(out_dir, maturin):
    source = HERE / "cython" / "_peer_cython.pyx"
    cython = version("Cython")
    done, (stamp, fresh) = stamped(out_dir, "_peer_cython",
                                   source.read_bytes(), cython)
    if not done:
        with tempfile.TemporaryDirectory() as tmp:
            c_file = pathlib.Path(tmp, "_peer_cython.c")
            run([sys.executable, "-m", "cython", "-3", str(source),
                 "-o", str(c_file)])
            compile_c("_peer_cython", c_file, out_dir)
        stamp.write_text(fresh)
    return f"Cython {cython}"


def build_pyo3(out_dir, maturin):
    if not maturin:
        raise RuntimeError("no maturin given")
    crate = HERE / "pyo3"
    with tempfile.TemporaryDirectory() as tmp:
        run([maturin, "build", "--release", "--quiet",
             "--interpreter", sys.executable, "--out", tmp], cwd=crate)
        wheel, = pathlib.Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as zf:
            for member in zf.namelist():
                if pathlib.PurePath(member).name.startswith("_peer_pyo3"):
                    (out_dir / pathlib.PurePath(member).name).write_bytes(
                        zf.read(member))
    lock = (crate / "Cargo.lock").read_text()
    pinned = {}
    for block in lock.split("[[package]]")[1:]:
        fields = dict(line.split(" = ", 1) for line in block.strip().splitlines()
                      if " = " in line)
        pinned[fields["name"].strip('"')] = fields["version"].strip('"')
    return (f"PyO3 {pinned.get('pyo3', '?')}, "
            f"pyo3-async-runtimes {pinned.get('pyo3-async-runtimes', '?')}")


PEERS = {
    "pyawaitable2": build_pyawaitable2,
    "cython": build_cython,
    "pyo3": build_pyo3,
}


def main():
    out_dir = pathlib.Path(sys.argv[1])
    maturin = sys.argv[2] if len(sys.argv) > 2 else None
    out_dir.mkdir(parents=True, exist_ok=True)
    status = {}
    for name, builder in PEERS.items():
        try:
            status[name] = {"built": True, "version": builder(out_dir, maturin)}
        except Exception as exc:  # reported in the table, with the reason
            status[name] = {"built": False, "reason": f"{type(exc).__name__}: {exc}"}
        state = "built" if status[name]["built"] else "FAILED"
        print(f"peer {name}: {state} "
              f"{status[name].get('version') or status[name]['reason']}")
    (out_dir / "status.json").write_text(json.dumps(status, indent=1))


if __name__ == "__main__":
    main()

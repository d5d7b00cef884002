"""PEP 517 build backend of the libtasks Python package: no build requirements, so
``pip install ./bindings/python`` works offline (also with build isolation).

The wheel carries the package and a copy of the shared library (``libtasks/libtasks.so``),
chosen at build time in this order:

1. ``LIBTASKS_PATH``: that file (or ``<dir>/libtasks.so``) is bundled; nothing is built.
2. When building from the repository (``<repo>/bindings/python``) and cargo is available
   (``$CARGO``, ``PATH`` or ``~/.cargo/bin``): ``cargo build --release`` of the repository
   (into ``$CARGO_TARGET_DIR`` or ``<repo>/target``), and its ``libtasks.so`` is bundled.
   ``LIBTASKS_NO_CARGO=1`` skips this step.
3. A library already built in the repository (``target/release``, ``build*/lib``), newest first.
4. Nothing bundled, if the system's loader finds a libtasks (e.g. ``cmake --install``); the
   wheel is then pure Python and loads that one. Otherwise the build fails with a message.

Editable installs (``pip install -e``) put the source directory on ``sys.path``; the package
then finds the library in the repository (see ``libtasks/_lib.py``).
"""
from __future__ import annotations

import base64
import ctypes.util
import glob
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent.parent  # bindings/python
PKG = "libtasks"
LIBNAME = "libtasks.so"


def _project() -> Tuple[str, str, str, str]:
    text = (HERE / "pyproject.toml").read_text(encoding="utf-8")
    proj = text.split("[project]", 1)[1].split("\n[", 1)[0]

    def field(key: str, default: str) -> str:
        m = re.search(rf'^{key}\s*=\s*"([^"]*)"', proj, re.M)
        return m.group(1) if m else default

    return (field("name", PKG), field("version", "0.0.0"), field("description", ""),
            field("requires-python", ">=3.8"))


def _log(msg: str) -> None:
    print(f"libtasks build: {msg}", file=sys.stderr, flush=True)


def _repo_root() -> Optional[Path]:
    root = HERE.parent.parent
    if (root / "Cargo.toml").is_file() and (root / "include" / "tasks.h").is_file():
        return root
    return None


def _cargo() -> Optional[str]:
    c = os.environ.get("CARGO")
    if c and os.path.isfile(c):
        return c
    c = shutil.which("cargo")
    if c:
        return c
    c = os.path.expanduser("~/.cargo/bin/cargo")
    return c if os.path.isfile(c) else None


def _find_library() -> Optional[Path]:
    env = os.environ.get("LIBTASKS_PATH")
    if env:
        p = Path(env)
        if p.is_dir():
            p = p / LIBNAME
        if not p.is_file():
            raise RuntimeError(f"LIBTASKS_PATH={env}: no such library")
        _log(f"bundling {p} (LIBTASKS_PATH)")
        return p
    root = _repo_root()
    if root is not None:
        cargo = _cargo()
        target = Path(os.environ.get("CARGO_TARGET_DIR") or root / "target")
        if cargo and os.environ.get("LIBTASKS_NO_CARGO", "") in ("", "0"):
            cmd = [cargo, "build", "--release", "--manifest-path", str(root / "Cargo.toml"),
                   "--target-dir", str(target)]
            _log("running " + " ".join(cmd))
            subprocess.run(cmd, check=True, stdout=sys.stderr)
            p = target / "release" / LIBNAME
            if p.is_file():
                _log(f"bundling {p}")
                return p
            raise RuntimeError(f"cargo build succeeded but {p} does not exist")
        built = [Path(p) for p in [str(target / "release" / LIBNAME)]
                 + glob.glob(str(root / "build*" / "lib" / LIBNAME)) if os.path.isfile(p)]
        if built:
            p = max(built, key=lambda q: q.stat().st_mtime)
            _log(f"bundling {p} (already built; cargo not used)")
            return p
    if ctypes.util.find_library("tasks"):
        _log("no library bundled: the system's libtasks will be loaded at run time")
        return None
    raise RuntimeError(
        "libtasks: no libtasks.so to bundle. Build from the repository with cargo installed "
        "(https://rustup.rs), or set LIBTASKS_PATH to a built libtasks.so, or install the "
        "library system-wide (cmake --install).")


# ---------------------------------------------------------------------------------------------
# Wheel writing
# ---------------------------------------------------------------------------------------------
def _metadata() -> str:
    name, version, summary, requires = _project()
    readme = HERE / "README.md"
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
             f"Summary: {summary}", f"Requires-Python: {requires}", "License: MIT OR Apache-2.0"]
    body = ""
    if readme.is_file():
        lines.append("Description-Content-Type: text/markdown")
        body = "\n" + readme.read_text(encoding="utf-8")
    return "\n".join(lines) + "\n" + body


def _dist_info_name() -> str:
    name, version, _, _ = _project()
    return f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"


def _platform_tag() -> str:
    return re.sub(r"[-.]", "_", sysconfig.get_platform())


class _Wheel:
    def __init__(self, path: Path, tag: str) -> None:
        self.zf = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.records: List[str] = []
        self.tag = tag

    def add(self, arcname: str, data: bytes, mode: int = 0o644) -> None:
        info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = (mode | 0o100000) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zf.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.records.append(f"{arcname},sha256={digest},{len(data)}")

    def finish(self, dist_info: str) -> None:
        self.add(f"{dist_info}/METADATA", _metadata().encode())
        self.add(f"{dist_info}/WHEEL", (
            "Wheel-Version: 1.0\nGenerator: libtasks_build\n"
            f"Root-Is-Purelib: {'true' if self.tag.endswith('-any') else 'false'}\n"
            f"Tag: {self.tag}\n").encode())
        self.add(f"{dist_info}/top_level.txt", f"{PKG}\n".encode())
        record = f"{dist_info}/RECORD"
        self.records.append(f"{record},,")
        self.zf.writestr(zipfile.ZipInfo(record, date_time=(2020, 1, 1, 0, 0, 0)),
                         "\n".join(self.records) + "\n")
        self.zf.close()


def _package_files() -> Dict[str, Path]:
    files = {}
    for p in sorted((HERE / PKG).rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".so"):
            files[p.relative_to(HERE).as_posix()] = p
    return files


def _wheel_name(tag: str) -> str:
    name, version, _, _ = _project()
    return f"{re.sub(r'[-_.]+', '_', name)}-{version}-{tag}.whl"


# ---------------------------------------------------------------------------------------------
# PEP 517 / 660 hooks
# ---------------------------------------------------------------------------------------------
def get_requires_for_build_wheel(config_settings=None):  # noqa: D103
    return []


def get_requires_for_build_sdist(config_settings=None):  # noqa: D103
    return []


def get_requires_for_build_editable(config_settings=None):  # noqa: D103
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):  # noqa: D103
    d = Path(metadata_directory) / _dist_info_name()
    d.mkdir(parents=True, exist_ok=True)
    (d / "METADATA").write_text(_metadata(), encoding="utf-8")
    return d.name


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):  # noqa: D103
    lib = _find_library()
    tag = f"py3-none-{_platform_tag()}" if lib is not None else "py3-none-any"
    out = Path(wheel_directory) / _wheel_name(tag)
    w = _Wheel(out, tag)
    for arc, p in _package_files().items():
        w.add(arc, p.read_bytes())
    if lib is not None:
        w.add(f"{PKG}/{LIBNAME}", lib.read_bytes(), 0o755)
    w.finish(_dist_info_name())
    return out.name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):  # noqa: D103
    tag = "py3-none-any"
    out = Path(wheel_directory) / _wheel_name(tag)
    w = _Wheel(out, tag)
    w.add(f"__editable__.{PKG}.pth", (str(HERE) + "\n").encode())
    w.finish(_dist_info_name())
    return out.name


def build_sdist(sdist_directory, config_settings=None):  # noqa: D103
    name, version, _, _ = _project()
    base = f"{re.sub(r'[-_.]+', '_', name)}-{version}"
    out = Path(sdist_directory) / f"{base}.tar.gz"
    files = {"pyproject.toml": HERE / "pyproject.toml",
             "build_backend/libtasks_build.py": HERE / "build_backend" / "libtasks_build.py"}
    if (HERE / "README.md").is_file():
        files["README.md"] = HERE / "README.md"
    files.update(_package_files())
    with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for arc, p in files.items():
            tf.add(str(p), arcname=f"{base}/{arc}")
        pkg_info = _metadata().encode()
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size, info.mtime = len(pkg_info), int(time.time())
        tf.addfile(info, io.BytesIO(pkg_info))
    return out.name

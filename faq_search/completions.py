"""Completion data published beside an index version, so servers map it instead of building it.

Building a Suggester reads every phrasing's pinyin: ≈ 18 s of CPU at 100k articles, which every
server process paid at start and again for each new version. The builder now writes the arrays once,
after publishing the version, to ``completions/<version>/`` (a temporary directory renamed into place,
every file checksummed); a server memory-maps them, so its workers share one copy.

The directory sits beside ``versions/``, not inside the immutable version: an incremental rebuild
publishes its version within its time budget and the completions follow it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np

from .index import _fsync_path, _write_file, _write_npy, read_current
from .suggest import Suggester

log = logging.getLogger(__name__)

DIRNAME = "completions"
FORMAT = 1


def completions_dir(index_dir: str | Path, version: str) -> Path:
    return Path(index_dir) / DIRNAME / version


def write_completions(index_dir: str | Path, version: str, suggester: Suggester) -> Path:
    """Write ``suggester``'s data for ``version`` atomically; returns its directory."""
    final = completions_dir(index_dir, version)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{version}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    arrays, lists = suggester.to_arrays()
    files = {f"{name}.npy": _write_npy(tmp / f"{name}.npy", arr) for name, arr in arrays.items()}
    files["lists.json"] = _write_file(tmp / "lists.json", json.dumps(lists, ensure_ascii=False).encode("utf-8"))
    manifest = {"format": FORMAT, "version": version, "phrases": len(arrays["article"]), "files": files}
    _write_file(tmp / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
    _fsync_path(tmp)
    if final.exists():  # rebuilt for the same version: the new copy replaces it whole
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_path(final.parent)
    prune_completions(index_dir)
    return final


def load_completions(index_dir: str | Path, version: str, normalize=str.lower) -> Suggester | None:
    """The Suggester published for ``version``; None when there is none (yet). Raises ValueError
    when its files are corrupt or unreadable."""
    vdir = completions_dir(index_dir, version)
    try:
        manifest = json.loads((vdir / "manifest.json").read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ValueError(f"completions of {version}: unreadable manifest: {e}") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != version:
        raise ValueError(f"completions of {version}: format {manifest.get('format')} for {manifest.get('version')}")
    arrays, lists = {}, None
    for name, digest in manifest.get("files", {}).items():
        path = vdir / name
        try:
            with open(path, "rb") as f:
                if hashlib.file_digest(f, "sha256").hexdigest() != digest:
                    raise ValueError(f"completions of {version}: checksum mismatch in {name}")
            if name == "lists.json":
                lists = json.loads(path.read_bytes())
            else:
                # A plain ndarray over the mapping: np.memmap's bookkeeping costs on every slice.
                arrays[name.removesuffix(".npy")] = np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)
        except OSError as e:
            raise ValueError(f"completions of {version}: missing file {name}: {e}") from None
    if lists is None:
        raise ValueError(f"completions of {version}: no lists.json")
    try:
        return Suggester.from_arrays(arrays, lists, normalize)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"completions of {version}: unreadable data: {e}") from None


def prune_completions(index_dir: str | Path) -> None:
    """Drop the completions of versions no longer kept (and temporary directories over an hour old)."""
    root = Path(index_dir) / DIRNAME
    versions = Path(index_dir) / "versions"
    if not root.is_dir() or not versions.is_dir():
        return
    kept = {p.name for p in versions.iterdir()}
    kept.add(read_current(index_dir) or "")
    for p in root.iterdir():
        if p.name.startswith(".tmp-"):
            if time.time() - p.stat().st_mtime > 3600:
                shutil.rmtree(p, ignore_errors=True)
        elif p.name not in kept:
            shutil.rmtree(p, ignore_errors=True)

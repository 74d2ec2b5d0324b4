"""The folder a worker loads a model from: the repository's files at one commit, copied out of
git and the blob store once (keyed by storage key and commit, so a new commit is a new folder
and an old one is never served for a new revision).

Weights are taken from safetensors files only unless the operator allows pickles: a `.bin`
(torch pickle) file runs code when loaded. Files a model never needs to run (other formats'
weights, images, datasets) are left out.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hubstead.domain.errors import HubError
from hubstead.services.files import FileService
from hubstead.services.repos import RepoHandle
from hubstead.services.xet import XetService

PICKLE_WEIGHTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
SKIPPED = (
    ".onnx",
    ".gguf",
    ".h5",
    ".msgpack",
    ".tflite",
    ".mlmodel",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".md",
    ".parquet",
    ".zip",
    ".tar",
    ".gz",
)


class NotRunnable(HubError):
    status = 422
    code = "ModelNotRunnable"


def wanted(path: str, allow_pickle: bool) -> bool:
    lowered = path.lower()
    if lowered.startswith(".") or "/." in lowered:
        return False
    if lowered.endswith(PICKLE_WEIGHTS):
        return allow_pickle
    return not lowered.endswith(SKIPPED)


class Snapshots:
    def __init__(self, root: Path, files: FileService, xet: XetService, allow_pickle: bool):
        self.root, self.files, self.xet, self.allow_pickle = root, files, xet, allow_pickle

    def folder(self, handle: RepoHandle, commit: str) -> Path:
        """The model's folder at `commit`, copied out on first use (atomically: a folder that
        exists is complete)."""
        target = self.root / handle.row.storage_key / commit
        if target.exists():
            return target
        every = [e.path for e in handle.git.list_tree(commit, recursive=True) if e.type == "file"]
        paths = [p for p in every if wanted(p, self.allow_pickle)]
        if not any(p.endswith(".safetensors") for p in paths):
            has_pickle = any(p.lower().endswith(PICKLE_WEIGHTS) for p in every)
            raise NotRunnable(
                "This model's weights are pickle files (a pickle runs code when loaded): the "
                "hub runs safetensors weights only (an operator can allow pickles with "
                "HUBSTEAD_INFERENCE_ALLOW_PICKLE=1)"
                if has_pickle and not self.allow_pickle
                else "This repository has no model weights the hub can run (model.safetensors)"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            for path in paths:
                self._copy(handle, commit, path, staging / path)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(staging, target)
            except OSError:  # another request finished first
                if not target.exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def _copy(self, handle: RepoHandle, commit: str, path: str, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        found = self.files.resolve(handle, commit, path)
        if found.content is not None:
            destination.write_bytes(found.content)
        elif found.blob_path is not None:
            try:
                os.link(found.blob_path, destination)  # same disk: no copy
            except OSError:
                shutil.copyfile(found.blob_path, destination)
        elif found.in_store and found.entry.lfs is not None:
            with open(destination, "wb") as out:
                oid, size = found.entry.lfs.oid, found.entry.lfs.size
                for chunk in self.files.blobs.iter_range(oid, 0, size):
                    out.write(chunk)
        elif found.xet_hash is not None:
            size = found.entry.lfs.size if found.entry.lfs is not None else 0
            with open(destination, "wb") as out:
                for chunk in self.xet.stream(found.xet_hash, size, 0, size):
                    out.write(chunk)

"""Pickle scanning (issue 14): every commit and push has its pickle-based files scanned without
unpickling them; the official client reads the verdicts (`model_info(securityStatus=True)`,
`get_paths_info` / `list_repo_tree` with `expand`) and the model page warns about them.

The malicious pickle is made here with `pickle.dumps` of an object whose `__reduce__` returns
`os.system` with a command that would create a marker file: the marker never appearing shows
that nothing unpickled it, the test process included.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import subprocess
from pathlib import Path

import pytest
import torch
from huggingface_hub import CommitOperationAdd, HfApi

from helpers import git_environment, run_xet_scenario, serious_accessibility_violations
from hubstead.services.pickle_scan import RangeReader, scan_stream

SCAN_LIMIT = 4 * 1024 * 1024
HUB_ENV = {"HUBSTEAD_PICKLE_SCAN_MAX_BYTES": str(SCAN_LIMIT)}
SYSTEM = f"{os.system.__module__}.system"  # os.system pickles as posix.system on Linux


class RunsACommand:
    """Unpickling this runs `command` (it is only ever pickled here)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def malicious_pickle(marker: Path) -> bytes:
    return pickle.dumps({"weights": [0.5, 1.5], "payload": RunsACommand(f"touch {marker}")})


def torch_weights() -> bytes:
    """What `torch.save` writes for a state dict: a zip whose data.pkl imports only torch and
    collections."""
    buffer = io.BytesIO()
    torch.save(collections.OrderedDict(weight=torch.arange(6.0).reshape(2, 3)), buffer)
    return buffer.getvalue()


def unknown_import_pickle() -> bytes:
    """A pickle (protocol 0, written by hand) whose only import is a class no list knows:
    suspicious, not dangerous."""
    return b"cmylibrary\nHelper\n."


@pytest.fixture(scope="module")
def marker(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("marker") / "pickle-was-loaded"


@pytest.fixture(scope="module")
def scanned(api: HfApi, marker: Path) -> str:
    """A public model with a malicious pickle, torch weights, a pickle with an unknown import and
    a pickle larger than the scan limit, committed in one commit through the API (LFS)."""
    repo_id = api.create_repo("pickled").repo_id
    files = {
        "evil.pkl": malicious_pickle(marker),
        "pytorch_model.bin": torch_weights(),
        "helper.pkl": unknown_import_pickle(),
        "big.pkl": pickle.dumps(os.urandom(SCAN_LIMIT + 1024 * 1024)),
        "config.json": b'{"model_type": "bert"}',
    }
    api.create_commit(
        repo_id,
        [CommitOperationAdd(path, data) for path, data in files.items()],
        commit_message="Weights",
    )
    return repo_id


def test_scanning_reads_opcodes_only():
    """The scanner's verdicts on bytes made here, without a server: imports found by their
    opcodes, a budget that stops reading (reported, never "safe")."""
    evil = malicious_pickle(Path("/nonexistent/marker"))
    verdict = scan_stream(RangeReader(len(evil), lambda s, e: evil[s:e], 1 << 20), "evil.pkl")
    assert verdict.level == "unsafe"
    assert [f"{i['module']}.{i['name']}" for i in verdict.imports] == [SYSTEM]
    weights = torch_weights()
    verdict = scan_stream(RangeReader(len(weights), lambda s, e: weights[s:e], 1 << 20), "m.bin")
    assert verdict.level == "safe" and verdict.message is None
    assert {"torch._utils._rebuild_tensor_v2", "collections.OrderedDict"} <= {
        f"{i['module']}.{i['name']}" for i in verdict.imports
    }
    assert {i["safety"] for i in verdict.imports} == {"innocuous"}
    big = pickle.dumps(b"x" * 300_000)
    reader = RangeReader(len(big), lambda s, e: big[s:e], 100_000)
    verdict = scan_stream(reader, "big.pkl")
    assert verdict.level == "caution" and "100000" in verdict.message
    assert reader.tell() <= 100_000


def test_model_info_security_status(api: HfApi, scanned: str, marker: Path):
    status = api.model_info(scanned, securityStatus=True).security_repo_status
    assert status["scansDone"] is True
    issues = {item["path"]: item for item in status["filesWithIssues"]}
    assert set(issues) == {"evil.pkl", "helper.pkl", "big.pkl"}, "the torch weights are safe"
    assert issues["evil.pkl"]["level"] == "unsafe"
    assert {"module": SYSTEM.rsplit(".", 1)[0], "name": "system", "safety": "dangerous"} in issues[
        "evil.pkl"
    ]["pickleImports"]
    assert issues["helper.pkl"]["level"] == "caution"
    assert issues["helper.pkl"]["pickleImports"] == [
        {"module": "mylibrary", "name": "Helper", "safety": "suspicious"}
    ]
    assert issues["big.pkl"]["level"] == "caution"
    # expand asks for it alone; without either, model_info carries none
    expanded = api.model_info(scanned, expand=["securityRepoStatus"])
    assert expanded.security_repo_status == status
    assert api.model_info(scanned).security_repo_status is None
    assert not marker.exists(), "scanning must never unpickle"


def test_paths_info_and_tree_carry_each_file_status(api: HfApi, scanned: str):
    infos = {
        i.path: i
        for i in api.get_paths_info(
            scanned, ["evil.pkl", "pytorch_model.bin", "big.pkl", "config.json"], expand=True
        )
    }
    evil = infos["evil.pkl"].security
    assert evil is not None and evil.safe is False and evil.status == "unsafe"
    assert evil.pickle_import_scan["status"] == "unsafe"
    assert f"{SYSTEM}" in {
        f"{i['module']}.{i['name']}" for i in evil.pickle_import_scan["pickleImports"]
    }
    assert evil.av_scan == {"status": "unscanned"}, "no antivirus runs: said so, not 'safe'"
    weights = infos["pytorch_model.bin"].security
    assert weights.safe is True and weights.pickle_import_scan["status"] == "safe"
    big = infos["big.pkl"].security
    assert big.status == "caution" and str(SCAN_LIMIT) in big.pickle_import_scan["message"]
    assert infos["config.json"].security is None, "only pickle files are scanned"
    assert api.get_paths_info(scanned, ["evil.pkl"])[0].security is None, "only with expand"
    tree = {e.path: e for e in api.list_repo_tree(scanned, expand=True)}
    assert tree["evil.pkl"].security.status == "unsafe"
    assert tree["pytorch_model.bin"].security.safe is True


def test_a_pushed_pickle_is_scanned(hub, api: HfApi, marker: Path, tmp_path: Path):
    repo_id = api.create_repo("pushed-pickle").repo_id
    env = git_environment(tmp_path / "git-home")
    host = hub.endpoint.removeprefix("http://")
    remote = f"http://alice:{hub.tokens['alice']}@{host}/{repo_id}"
    work = tmp_path / "work"

    def git(*args: str) -> None:
        done = subprocess.run(
            ["git", *args], env=env, cwd=work if work.exists() else None, capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()

    git("clone", remote, str(work))
    (work / "checkpoint.ckpt").write_bytes(malicious_pickle(marker))
    git("add", ".")
    git("commit", "-m", "Push a checkpoint")
    git("push", "origin", "main")
    status = api.model_info(repo_id, securityStatus=True).security_repo_status
    assert status["scansDone"] is True
    assert [(i["path"], i["level"]) for i in status["filesWithIssues"]] == [
        ("checkpoint.ckpt", "unsafe")
    ]
    info = api.get_paths_info(repo_id, ["checkpoint.ckpt"], expand=True)[0]
    assert info.lfs is not None, "pushed through git-lfs: the scanner read the blob store"
    assert not marker.exists()


def test_a_pickle_uploaded_through_xet_is_scanned(hub, api: HfApi, marker: Path, tmp_path: Path):
    repo_id = api.create_repo("xet-pickle").repo_id
    path = tmp_path / "model.pt"
    path.write_bytes(malicious_pickle(marker))
    run_xet_scenario(
        hub, "upload_file", tmp_path / "home", path=str(path), path_in_repo="model.pt", repo=repo_id
    )
    info = api.get_paths_info(repo_id, ["model.pt"], expand=True)[0]
    assert info.xet_hash, "uploaded through Xet: the scanner rebuilt the bytes from xorbs"
    assert info.security.status == "unsafe"
    assert not marker.exists()


def test_the_model_page_warns_about_unsafe_files(page, endpoint: str, scanned: str):
    page.goto(f"{endpoint}/{scanned}")
    panel = page.locator(".pickle-scan")
    evil = panel.locator('[data-path="evil.pkl"]')
    assert evil.get_attribute("data-level") == "unsafe"
    assert f"imports {SYSTEM}: it can run code when loaded" in " ".join(evil.inner_text().split())
    assert panel.locator('[data-path="helper.pkl"]').get_attribute("data-level") == "caution"
    assert panel.locator('[data-path="pytorch_model.bin"]').count() == 0
    assert serious_accessibility_violations(page) == []


def test_a_safe_model_page_has_no_warning(page, endpoint: str, api: HfApi):
    repo_id = api.create_repo("safe-pickle").repo_id
    api.upload_file(path_or_fileobj=torch_weights(), path_in_repo="model.pt", repo_id=repo_id)
    assert api.model_info(repo_id, securityStatus=True).security_repo_status == {
        "scansDone": True,
        "filesWithIssues": [],
    }
    page.goto(f"{endpoint}/{repo_id}")
    assert page.locator(".pickle-scan").count() == 0

"""Commits racing on one branch: each lands or gets 412, and none is lost."""

from __future__ import annotations

import threading

from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError


def race(count: int, action) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = action(index)
        except Exception as error:  # noqa: BLE001 - recorded and asserted on below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_racing_commits_without_parent_all_land(api: HfApi):
    repo_id = api.create_repo("race-free").repo_id
    results = race(
        8,
        lambda i: api.create_commit(
            repo_id,
            [CommitOperationAdd(f"file-{i}.txt", f"{i}".encode())],
            commit_message=f"writer {i}",
        ),
    )
    assert all(not isinstance(r, Exception) for r in results), results
    files = set(api.list_repo_files(repo_id))
    assert {f"file-{i}.txt" for i in range(8)} <= files
    titles = [c.title for c in api.list_repo_commits(repo_id)]
    assert sorted(t for t in titles if t.startswith("writer")) == sorted(
        f"writer {i}" for i in range(8)
    )
    assert len(set(r.oid for r in results)) == 8


def test_racing_commits_on_the_same_parent(api: HfApi):
    repo_id = api.create_repo("race-parent").repo_id
    parent = api.model_info(repo_id).sha
    results = race(
        6,
        lambda i: api.create_commit(
            repo_id,
            [CommitOperationAdd("shared.txt", f"{i}".encode())],
            commit_message=f"writer {i}",
            parent_commit=parent,
        ),
    )
    landed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(landed) == 1, results
    assert all(isinstance(r, HfHubHTTPError) and r.response.status_code == 412 for r in refused)
    head = api.model_info(repo_id).sha
    assert head == landed[0].oid
    assert len(api.list_repo_commits(repo_id)) == 2

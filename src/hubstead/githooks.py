"""Git hooks run by `git receive-pack` during a push (installed in every repository).

pre-receive: branches and tags (for those who may write) and open pull requests' refs
(`refs/pr/N`, for their authors and writers: the server lists which in the hook's settings, as
the Hub lets a PR's author push to it), the default branch stays, a README.md whose metadata is
invalid is refused with the validator's messages, and every LFS pointer the push adds must name
an object uploaded to this repository (git-lfs sends objects before the push; a pointer without
its object would be a file nobody can download), so a push can't land what the API refuses.
"""

from __future__ import annotations

import re
import subprocess
import sys

from hubstead.domain.cards import validate_card_text
from hubstead.domain.lfs_pointer import MAX_POINTER_SIZE, LfsPointer, parse_pointer
from hubstead.settings import HookSettings

ZERO = "0" * 40
PULL_REQUEST_REF = re.compile(r"refs/pr/([1-9][0-9]{0,8})")


def _readme_at(commit: str) -> str | None:
    """README.md of a pushed commit (still in git's quarantine: read through git itself)."""
    result = subprocess.run(["git", "cat-file", "blob", f"{commit}:README.md"], capture_output=True)
    return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None


def _git(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], input=data, capture_output=True, check=True).stdout


def new_lfs_pointers(commits: list[str]) -> dict[str, tuple[LfsPointer, str]]:
    """The LFS pointers among the blobs these commits add to the repository: oid → (pointer, path)."""
    if not commits:
        return {}
    listed = (
        _git("rev-list", "--objects", *commits, "--not", "--all")
        .decode("utf-8", "replace")
        .splitlines()
    )
    paths = {
        line[:40]: line[41:] for line in listed if len(line) > 41
    }  # commits and root trees have no path
    if not paths:
        return {}
    checks = _git(
        "cat-file",
        "--batch-check=%(objectname) %(objecttype) %(objectsize)",
        data="\n".join(paths).encode() + b"\n",
    )
    small = [
        oid
        for oid, kind, size in (line.split() for line in checks.decode().splitlines())
        if kind == "blob" and int(size) <= MAX_POINTER_SIZE
    ]
    pointers: dict[str, tuple[LfsPointer, str]] = {}
    if not small:
        return pointers
    output = _git("cat-file", "--batch", data="\n".join(small).encode() + b"\n")
    position = 0
    for oid in small:
        header_end = output.index(b"\n", position)
        size = int(output[position:header_end].split()[2])
        pointer = parse_pointer(output[header_end + 1 : header_end + 1 + size])
        position = header_end + 1 + size + 1
        if pointer is not None:
            pointers.setdefault(pointer.oid, (pointer, paths[oid]))
    return pointers


def missing_lfs_objects(
    pointers: dict[str, tuple[LfsPointer, str]], settings: HookSettings
) -> list[str]:
    """Problems for pointers whose object this repository does not hold (the hub tells the hook
    which database, blob store and repository through its HookSettings)."""
    if not pointers or settings.repo_row_id is None:
        return []
    from hubstead.services.lfs import available_objects
    from hubstead.storage.blobstore import open_blob_store
    from hubstead.storage.database import Database

    if settings.database_url is None or settings.blobs_dir is None:
        raise RuntimeError(
            "the hub did not pass HUBSTEAD_DATABASE_URL and HUBSTEAD_BLOBS_DIR to the hook"
        )
    db = Database(settings.database_url)
    try:
        blobs = open_blob_store(
            settings.storage_url, settings.blobs_dir, endpoint_url=settings.s3_endpoint_url
        )
        found = available_objects(db, blobs, settings.repo_row_id, list(pointers))
    finally:
        db.dispose()
    problems = []
    for oid, (pointer, path) in sorted(pointers.items(), key=lambda item: item[1][1]):
        stored = found.get(oid)
        if stored is None:
            problems.append(
                f"{path}: LFS object {oid} was not uploaded to this repository (push it with git-lfs first)"
            )
        elif stored.size != pointer.size:
            problems.append(
                f"{path}: the LFS pointer says {pointer.size} bytes but object {oid} has {stored.size}"
            )
    return problems


def _default_ref() -> str:
    """The default branch's ref: git's HEAD, which the settings page may point elsewhere."""
    result = subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or "refs/heads/main"


def ref_problem(ref: str, new: str, settings: HookSettings) -> str | None:
    """Why the pusher may not update `ref` to `new` (None: they may)."""
    pull_request = PULL_REQUEST_REF.fullmatch(ref)
    if pull_request is not None:
        num = int(pull_request.group(1))
        if new == ZERO:
            return f"refusing to delete {ref}: close the pull request instead"
        if num not in settings.pull_requests:
            return (
                f"refusing to update {ref}: no open pull request #{num} that you may push to "
                "(its author and the repository's writers may)"
            )
        return None
    if not ref.startswith(("refs/heads/", "refs/tags/")):
        return f"refusing to update {ref}: only branches, tags and pull requests (refs/pr/N) can be pushed"
    if not settings.may_write:
        return (
            f"refusing to update {ref}: you may not write to this repository; "
            "open a pull request and push to its refs/pr/N"
        )
    if new == ZERO and ref in ("refs/heads/main", _default_ref()):
        return "refusing to delete the default branch"
    return None


def pre_receive(lines: list[str], settings: HookSettings) -> list[str]:
    """The reasons to refuse this push (empty: accept)."""
    repo_type = settings.repo_type
    problems = []
    pushed = []
    for line in lines:
        parts = line.split()
        if len(parts) != 3:
            continue
        _old, new, ref = parts
        problem = ref_problem(ref, new, settings)
        if problem is not None:
            problems.append(problem)
            continue
        if new == ZERO:
            continue
        pushed.append(new)
        if not ref.startswith("refs/tags/"):
            readme = _readme_at(new)
            if readme is not None:
                result = validate_card_text(readme, repo_type)
                problems.extend(
                    f"invalid metadata in README.md ({ref}): {error}" for error in result.errors
                )
    return problems + missing_lfs_objects(new_lfs_pointers(pushed), settings)


def main() -> int:
    if sys.argv[1:] != ["pre-receive"]:
        print("usage: python -m hubstead.githooks pre-receive", file=sys.stderr)
        return 2
    problems = pre_receive(sys.stdin.read().splitlines(), HookSettings.from_env())
    for problem in problems:
        print(f"hubstead: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

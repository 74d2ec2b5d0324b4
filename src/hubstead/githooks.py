"""Git hooks run by `git receive-pack` during a push (installed in every repository).

pre-receive: branches and tags only, the default branch stays, and a README.md whose metadata
is invalid is refused with the validator's messages, so a push can't land what the API refuses.
"""

from __future__ import annotations

import os
import subprocess
import sys

from hubstead.domain.cards import validate_card_text

ZERO = "0" * 40


def _readme_at(commit: str) -> str | None:
    """README.md of a pushed commit (still in git's quarantine: read through git itself)."""
    result = subprocess.run(["git", "cat-file", "blob", f"{commit}:README.md"], capture_output=True)
    return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None


def pre_receive(lines: list[str], repo_type: str) -> list[str]:
    """The reasons to refuse this push (empty: accept)."""
    problems = []
    for line in lines:
        parts = line.split()
        if len(parts) != 3:
            continue
        _old, new, ref = parts
        if not ref.startswith(("refs/heads/", "refs/tags/")):
            problems.append(f"refusing to update {ref}: only branches and tags can be pushed")
            continue
        if new == ZERO:
            if ref == "refs/heads/main":
                problems.append("refusing to delete the default branch")
            continue
        if ref.startswith("refs/heads/"):
            readme = _readme_at(new)
            if readme is not None:
                result = validate_card_text(readme, repo_type)
                problems.extend(f"invalid metadata in README.md ({ref}): {error}" for error in result.errors)
    return problems


def main() -> int:
    if sys.argv[1:] != ["pre-receive"]:
        print("usage: python -m hubstead.githooks pre-receive", file=sys.stderr)
        return 2
    problems = pre_receive(sys.stdin.read().splitlines(), os.environ.get("HUBSTEAD_REPO_TYPE", "model"))
    for problem in problems:
        print(f"hubstead: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""How long a revision (a branch, a tag, a full ref or a commit id) may be.

git keeps every ref name under 1024 bytes (libgit2 answers a longer one with an error, not a
"no such ref"), and each part of a ref name is a file of the repository's `refs/` folder while
it is written, so it must fit a file name (255 bytes on the usual file systems, less the 5 of
git's `.lock`). A revision longer than either names nothing and is refused before git sees it.
"""

from __future__ import annotations

from hubstead.domain.errors import InvalidName

MAX_REF_BYTES = 1024  # git's limit on a whole ref name
# A revision is looked up as `refs/heads/<it>` and `refs/tags/<it>`: both must fit git's limit.
MAX_REVISION_BYTES = MAX_REF_BYTES - len("refs/heads/")
MAX_REF_PART_BYTES = 255 - len(".lock")


def check_revision(revision: str, what: str = "rev") -> str:
    """The revision, if it is short enough to name something; else InvalidName (400)."""
    if len(revision.encode("utf-8", "surrogatepass")) > MAX_REVISION_BYTES:
        raise InvalidName(f"Invalid {what}: longer than {MAX_REVISION_BYTES} bytes")
    return revision


def check_new_ref_name(name: str, what: str) -> str:
    """A branch or tag name to create: a revision whose every part also fits a file name."""
    check_revision(name, what)
    for part in name.split("/"):
        if len(part.encode("utf-8", "surrogatepass")) > MAX_REF_PART_BYTES:
            raise InvalidName(
                f"Invalid {what}: each part between '/' must be at most {MAX_REF_PART_BYTES} bytes"
            )
    return name

"""LFS pointers across a repository's whole history: where they are, and history without some.

Both passes walk every commit reachable from the refs, but read each distinct tree and each small
blob once (memoised), so they cost about the number of distinct objects, not commits × files.
Nothing here moves a ref: callers move refs by compare-and-swap (`GitRepo.update_ref`).
"""

from __future__ import annotations

import pygit2

from hubstead.domain.lfs_pointer import MAX_POINTER_SIZE, LfsPointer, parse_pointer

_BLOB_MODES = (pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE)
_TREE = pygit2.GIT_FILEMODE_TREE


class PointerReader:
    """The LFS pointer a blob holds, if any (memoised: a pointer blob recurs across commits)."""

    def __init__(self, repo: pygit2.Repository):
        self.repo = repo
        self._seen: dict[pygit2.Oid, LfsPointer | None] = {}

    def pointer(self, blob: pygit2.Oid) -> LfsPointer | None:
        if blob not in self._seen:
            _, size = self.repo.odb.read_header(blob)
            self._seen[blob] = (
                parse_pointer(self.repo[blob].data) if size <= MAX_POINTER_SIZE else None
            )
        return self._seen[blob]


def pointer_locations(repo: pygit2.Repository, refs: list[str]) -> dict[str, tuple[str, str]]:
    """LFS oid → (a path that pointed at it, the ref whose history holds it), for every pointer
    reachable from `refs`. The first ref that reaches an object wins, and within a ref the newest
    commit, so an object on `main` is reported on `main` even when a branch also holds it."""
    reader = PointerReader(repo)
    found: dict[str, tuple[str, str]] = {}
    seen_trees: set[pygit2.Oid] = set()
    walked: list[pygit2.Oid] = []
    for ref in refs:
        reference = repo.references.get(ref)
        if reference is None:
            continue
        tip = reference.peel(pygit2.Commit).id
        walker = repo.walk(tip, pygit2.GIT_SORT_TIME)
        for earlier in walked:
            walker.hide(earlier)
        for commit in walker:
            _collect(reader, commit.tree, "", ref, found, seen_trees)
        walked.append(tip)
    return found


def _collect(
    reader: PointerReader,
    tree: pygit2.Tree,
    base: str,
    ref: str,
    found: dict[str, tuple[str, str]],
    seen: set[pygit2.Oid],
) -> None:
    if tree.id in seen:
        return  # read before, from this ref or an earlier one: its pointers are already found
    seen.add(tree.id)
    for entry in tree:
        path = f"{base}{entry.name}"
        if entry.filemode == _TREE:
            _collect(reader, entry, path + "/", ref, found, seen)
        elif entry.filemode in _BLOB_MODES:
            pointer = reader.pointer(entry.id)
            if pointer is not None:
                found.setdefault(pointer.oid, (path, ref))


class PointerScrubber:
    """Rewrites commits without the LFS pointers that name some objects.

    Commits keep their author, committer, date and message; a commit none of whose trees change
    keeps its id, so history before the first pointer stays shared. Rewrites are memoised: refs
    with common history share the rewritten commits, and after a lost compare-and-swap only the
    commits that arrived meanwhile are rewritten. Folders left empty disappear, as in git.
    """

    def __init__(self, repo: pygit2.Repository, oids: frozenset[str]):
        self.repo = repo
        self.oids = oids
        self.reader = PointerReader(repo)
        self.commits: dict[pygit2.Oid, pygit2.Oid] = {}
        self.trees: dict[pygit2.Oid, pygit2.Oid | None] = {}
        self._tips: list[pygit2.Oid] = []

    def rewrite_target(self, target: pygit2.Oid) -> pygit2.Oid | None:
        """The new target for a ref now at `target` (a commit, or an annotated tag of one), or
        None when nothing under it changes (or it points at something else)."""
        obj = self.repo[target]
        if obj.type == pygit2.GIT_OBJECT_COMMIT:
            new = self.commit(target)
        elif (
            obj.type == pygit2.GIT_OBJECT_TAG
            and self.repo[obj.target].type == pygit2.GIT_OBJECT_COMMIT
        ):
            commit = self.commit(obj.target)
            new = target if commit == obj.target else self._retag(obj, commit)
        else:
            return None
        return None if new == target else new

    def commit(self, tip: pygit2.Oid) -> pygit2.Oid:
        """The rewritten id of commit `tip` (parents are rewritten first)."""
        if tip not in self.commits:
            walker = self.repo.walk(tip, pygit2.GIT_SORT_TOPOLOGICAL | pygit2.GIT_SORT_REVERSE)
            for done in self._tips:
                walker.hide(done)  # its ancestors are rewritten already
            for commit in walker:
                self.commits[commit.id] = self._rewrite(commit)
            self._tips.append(tip)
        return self.commits[tip]

    def _rewrite(self, commit: pygit2.Commit) -> pygit2.Oid:
        tree = self._tree(commit.tree)
        if tree is None:
            tree = self.repo.TreeBuilder().write()  # every file of this commit was dropped
        parents = [self.commits[parent] for parent in commit.parent_ids]
        if tree == commit.tree_id and parents == list(commit.parent_ids):
            return commit.id
        return self.repo.create_commit(
            None, commit.author, commit.committer, commit.message, tree, parents
        )

    def _tree(self, tree: pygit2.Tree) -> pygit2.Oid | None:
        """The tree without the doomed pointers; None when nothing is left in it."""
        if tree.id in self.trees:
            return self.trees[tree.id]
        kept: list[tuple[str, pygit2.Oid, int]] = []
        changed = False
        for entry in tree:
            if entry.filemode == _TREE:
                new = self._tree(entry)
                changed = changed or new != entry.id
                if new is not None:
                    kept.append((entry.name, new, entry.filemode))
            elif entry.filemode in _BLOB_MODES and self._doomed(entry.id):
                changed = True
            else:
                kept.append((entry.name, entry.id, entry.filemode))
        result = self._write(kept) if changed and kept else (None if changed else tree.id)
        self.trees[tree.id] = result
        return result

    def _doomed(self, blob: pygit2.Oid) -> bool:
        pointer = self.reader.pointer(blob)
        return pointer is not None and pointer.oid in self.oids

    def _write(self, entries: list[tuple[str, pygit2.Oid, int]]) -> pygit2.Oid:
        builder = self.repo.TreeBuilder()
        for name, oid, mode in entries:
            builder.insert(name, oid, mode)
        return builder.write()

    def _retag(self, tag: pygit2.Tag, commit: pygit2.Oid) -> pygit2.Oid:
        """The same annotated tag (tagger, date, message) on the rewritten commit."""
        raw = tag.read_raw().replace(
            f"object {tag.target}\n".encode(), f"object {commit}\n".encode(), 1
        )
        return self.repo.odb.write(pygit2.GIT_OBJECT_TAG, raw)

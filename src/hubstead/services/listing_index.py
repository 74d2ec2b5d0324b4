"""The rows listings, facets and search read, kept in step with each repository.

Per type: how many public and private repositories exist (`repo_counts`), for the lists'
totals. Per repository: its tags (`repo_tags`), the local apps that run it (`repo_apps`), its parameter
count and its search document. Per tag: how many public and private repositories carry it
(`tag_counts`), so the filter sidebar reads a few thousand counters instead of counting every
tag of every repository.

The counters stay exact because every change that moves them (new tags, a visibility flip, a
deletion) runs in one transaction that first locks the repository row; the tags a change
removes are the rows its own DELETE returned, and counters are bumped in tag order, so two
writers can neither double-count nor deadlock.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, event, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hubstead.domain.tags.local_apps import compatible_apps
from hubstead.storage.database import Database
from hubstead.storage.models import (
    RepoApp,
    RepoCount,
    RepoSearchDocument,
    Repository,
    RepoTag,
    TagCount,
)

R = Repository.__table__
T = RepoTag.__table__
A = RepoApp.__table__
N = TagCount.__table__
C = RepoCount.__table__


def index_rows(
    repo_row_id: int, namespace: str, name: str, tags: list, card_text: str
) -> tuple[list[dict], dict]:
    """The tag rows and the search document of one repository: its id is searchable as a whole
    and word by word (`bert-base-uncased` → bert, base, uncased)."""
    tag_rows = [
        {"repo_id": repo_row_id, "tag": tag} for tag in dict.fromkeys(str(t)[:255] for t in tags)
    ]
    title = f"{namespace}/{name} {namespace} {name.replace('-', ' ').replace('_', ' ').replace('.', ' ')}"
    return tag_rows, {"repo_id": repo_row_id, "title": title, "body": card_text}


def parameter_total(derived: dict) -> int | None:
    total = (derived.get("safetensors") or {}).get("total")
    return total if isinstance(total, int) and not isinstance(total, bool) else None


class ListingIndex:
    def __init__(self, db: Database):
        self.db = db
        # Bumped by every change this process makes: caches of derived counts compare it, so
        # a process sees its own changes at once (other processes' within the caches' TTL).
        self.generation = 0

    # -- writes (each inside the caller's transaction) ---------------------------------------

    def replace(
        self,
        session: Session,
        repo_row_id: int,
        tags: list[str],
        card_text: str,
        pipeline_tag: str | None = None,
        library_name: str | None = None,
        derived: dict | None = None,
    ) -> None:
        """Replace one repository's rows after its default branch changed."""
        self._changed(session)
        row = self._lock(session, repo_row_id)
        if row is None:
            return
        tag_rows, document = index_rows(repo_row_id, row.namespace, row.name, tags, card_text)
        removed = (
            session.execute(delete(T).where(T.c.repo_id == repo_row_id).returning(T.c.tag))
            .scalars()
            .all()
        )
        if tag_rows:
            session.execute(insert(T), tag_rows)
        delta = Counter(r["tag"] for r in tag_rows)
        delta.subtract(removed)
        self._bump(
            session, row.type, {tag: change for tag, change in delta.items() if change}, row.private
        )

        derived = derived or {}
        apps = (
            compatible_apps(tags, pipeline_tag, library_name, derived.get("config"))
            if row.type == "model"
            else []
        )
        session.execute(delete(A).where(A.c.repo_id == repo_row_id))
        if apps:
            session.execute(insert(A), [{"app": app, "repo_id": repo_row_id} for app in apps])
        session.execute(
            update(R).where(R.c.id == repo_row_id).values(num_parameters=parameter_total(derived))
        )
        session.execute(delete(RepoSearchDocument).where(RepoSearchDocument.repo_id == repo_row_id))
        session.execute(insert(RepoSearchDocument), [document])

    def added(self, session: Session, repo_type: str, private: bool) -> None:
        """Count a new repository; call in the transaction that inserts its row."""
        self._changed(session)
        self._bump_total(session, repo_type, 1, private)

    def set_private(self, session: Session, repo_row_id: int, private: bool) -> None:
        """Flip a repository's visibility and move its tags between the public and private counts."""
        self._changed(session)
        row = self._lock(session, repo_row_id)
        if row is None or bool(row.private) == private:
            return
        session.execute(update(R).where(R.c.id == repo_row_id).values(private=private))
        self._bump_total(session, row.type, -1, bool(row.private))
        self._bump_total(session, row.type, 1, private)
        tags = session.execute(select(T.c.tag).where(T.c.repo_id == repo_row_id)).scalars().all()
        self._bump(session, row.type, {tag: -1 for tag in tags}, bool(row.private))
        self._bump(session, row.type, {tag: 1 for tag in tags}, private)

    def forget(self, session: Session, repo_row_id: int) -> None:
        """Take a repository out of the counts; call in the transaction that deletes it."""
        self._changed(session)
        row = self._lock(session, repo_row_id)
        if row is None:
            return
        removed = (
            session.execute(delete(T).where(T.c.repo_id == repo_row_id).returning(T.c.tag))
            .scalars()
            .all()
        )
        self._bump(session, row.type, {tag: -1 for tag in removed}, bool(row.private))
        self._bump_total(session, row.type, -1, bool(row.private))

    def rebuild_counts(self) -> int:
        """Recount every tag from `repo_tags` and the totals from `repositories` (after bulk
        loads, or to repair); returns the tag rows.

        On PostgreSQL the table is locked first: a writer that has not bumped yet waits, and its
        bump then applies to a recount that did not see its uncommitted tags, so nothing is lost."""
        with self.db.session() as session:
            if not self.db.is_sqlite:
                session.execute(text("LOCK TABLE tag_counts, repo_counts IN EXCLUSIVE MODE"))
            session.execute(delete(C))
            session.execute(
                text(
                    "INSERT INTO repo_counts (repo_type, public_count, private_count) "
                    "SELECT type, SUM(CASE WHEN private THEN 0 ELSE 1 END), SUM(CASE WHEN private THEN 1 ELSE 0 END) "
                    "FROM repositories GROUP BY type"
                )
            )
            session.execute(delete(N))
            session.execute(
                text(
                    "INSERT INTO tag_counts (repo_type, tag, public_count, private_count) "
                    "SELECT r.type, t.tag, SUM(CASE WHEN r.private THEN 0 ELSE 1 END), SUM(CASE WHEN r.private THEN 1 ELSE 0 END) "
                    "FROM repo_tags t JOIN repositories r ON r.id = t.repo_id GROUP BY r.type, t.tag"
                )
            )
            return session.scalar(select(func.count()).select_from(N)) or 0

    def _lock(self, session: Session, repo_row_id: int):
        """Lock the repository row for the rest of the transaction and read it.

        PostgreSQL: SELECT … FOR UPDATE. SQLite has one writer at a time and takes the write lock
        at the first write, so a no-op UPDATE comes first: what is read after it cannot change.
        """
        if self.db.is_sqlite:
            session.execute(update(R).where(R.c.id == repo_row_id).values(id=R.c.id))
        return session.execute(
            select(R.c.type, R.c.private, R.c.namespace, R.c.name)
            .where(R.c.id == repo_row_id)
            .with_for_update()
        ).first()

    def _bump(
        self, session: Session, repo_type: str, changes: dict[str, int], private: bool
    ) -> None:
        """Add `changes` to the tag counts of one column, creating missing rows (in tag order)."""
        rows = [
            {"repo_type": repo_type, "tag": tag, "change": n} for tag, n in sorted(changes.items())
        ]
        self._increment(session, N, [N.c.repo_type, N.c.tag], rows, private)

    def _bump_total(self, session: Session, repo_type: str, change: int, private: bool) -> None:
        """Add `change` to one column of a type's totals, creating the row if missing."""
        self._increment(
            session, C, [C.c.repo_type], [{"repo_type": repo_type, "change": change}], private
        )

    def _increment(
        self, session: Session, table, keys: list, rows: list[dict], private: bool
    ) -> None:
        """Add each row's `change` to the public or private column of the row with its keys
        (an upsert: a missing row starts at zero)."""
        if not rows:
            return
        column = "private_count" if private else "public_count"
        dialect = postgresql if not self.db.is_sqlite else sqlite
        statement = dialect.insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={column: table.c[column] + getattr(statement.excluded, column)},
        )
        values = [
            {
                **{k: v for k, v in row.items() if k != "change"},
                "public_count": 0,
                "private_count": 0,
                column: row["change"],
            }
            for row in rows
        ]
        session.execute(statement, values)

    def _changed(self, session: Session) -> None:
        """Count a change now and again once its transaction commits: a count read in between
        (before the commit) is then not trusted afterwards."""
        self.generation += 1

        def committed(_session: Session) -> None:
            self.generation += 1

        event.listen(session, "after_commit", committed, once=True)

    def totals(self, repo_type: str) -> tuple[int, int]:
        """(public, private) repositories of a type."""
        with self.db.engine.connect() as connection:
            row = connection.execute(
                select(C.c.public_count, C.c.private_count).where(C.c.repo_type == repo_type)
            ).first()
        return (int(row[0]), int(row[1])) if row is not None else (0, 0)

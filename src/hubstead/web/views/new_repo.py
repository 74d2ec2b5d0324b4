"""Creating a repository from the browser (`/new`, `/new-dataset`), a new model starting from the
model-card template.

The form creates through the repository service, as `POST /api/repos/create` does (the same
naming rules and the same conflict), then commits the card through the commit service, which
validates it like any pushed README.md. The card is built and validated before the repository
exists, so a form that cannot produce a valid card creates nothing. A refused form is drawn
again with the message next to its field and the error's status (400, 403, 409).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response

from hubstead.domain.cards import hub_message, validate_card_text
from hubstead.domain.cards.template import NewCard, dataset_card, model_card
from hubstead.domain.cards.vocabulary import LICENSES, is_language_code
from hubstead.domain.commit_ops import AddFile, CommitHeader, CommitRequest
from hubstead.domain.errors import Forbidden, HubError, InvalidName
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router
from hubstead.services.principal import Principal
from hubstead.services.repos import RepoExists
from hubstead.web.templating import render

router = Router(sessions=True)

PATHS = {RepoType.MODEL: "/new", RepoType.DATASET: "/new-dataset"}
CREATING_ROLES = ("write", "admin")  # an organization's members who may create in it
COMMIT_SUMMARY = {
    RepoType.MODEL: "Add the model card from the template",
    RepoType.DATASET: "Add the dataset card from the template",
}


@dataclass
class NewRepoForm:
    """The form's values as submitted (or their defaults), and the messages by field."""

    owner: str
    name: str = ""
    license: str = ""
    language: str = "en"
    visibility: str = "public"
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def submitted(cls, ctx: Ctx, default_owner: str) -> NewRepoForm:
        return cls(
            owner=(ctx.form_value("owner") or default_owner).strip(),
            name=(ctx.form_value("name") or "").strip(),
            license=(ctx.form_value("license") or "").strip(),
            language=(ctx.form_value("language") or "").strip(),
            visibility=ctx.form_value("visibility") or "public",
        )

    @property
    def languages(self) -> list[str]:
        """The language codes typed, separated by commas or spaces, without repeats."""
        return list(dict.fromkeys(code for code in re.split(r"[\s,]+", self.language) if code))

    def check(self, owners: list[str]) -> None:
        """Record what is wrong with the fields that need no database to judge."""
        if self.owner not in owners:
            self.errors["owner"] = f"You cannot create repositories under {self.owner!r}."
        if self.license not in LICENSES:
            self.errors["license"] = "Choose a license from the list."
        unknown = [code for code in self.languages if not is_language_code(code)]
        if unknown:
            self.errors["language"] = (
                f"Not a language code: {', '.join(unknown)} (use ISO 639 codes such as en, fr, de)."
            )
        if self.visibility not in ("public", "private"):
            self.errors["visibility"] = "Choose public or private."


def owners_of(principal: Principal) -> list[str]:
    """Where the user may create: their own namespace, then the organizations where they write."""
    orgs = sorted(org for org, role in principal.org_roles.items() if role in CREATING_ROLES)
    return [principal.name, *orgs]


def _page(
    ctx: Ctx, repo_type: RepoType, form: NewRepoForm, owners: list[str], status: int = 200
) -> Response:
    return render(
        ctx,
        "repo/new.html",
        status=status,
        repo_kind=repo_type.value,
        action=PATHS[repo_type],
        form=form,
        owners=owners,
        licenses=list(LICENSES.items()),
    )


def _sign_in_first(ctx: Ctx) -> Response:
    return RedirectResponse(f"/login?next={quote(ctx.request.url.path)}", status_code=303)


def _show_form(ctx: Ctx, repo_type: RepoType) -> Response:
    principal = ctx.principal
    if principal is None:
        return _sign_in_first(ctx)
    owners = owners_of(principal)
    wanted = ctx.query.get("owner", "")  # a link from an organization's page may preselect it
    form = NewRepoForm(owner=wanted if wanted in owners else principal.name)
    return _page(ctx, repo_type, form, owners)


def card_for(repo_type: RepoType, repo_id: RepoId, form: NewRepoForm) -> str:
    """The new repository's README.md, from the card template."""
    card = NewCard(str(repo_id), form.license, tuple(form.languages))
    return model_card(card) if repo_type is RepoType.MODEL else dataset_card(card)


def _create(ctx: Ctx, repo_type: RepoType) -> Response:
    principal = ctx.principal
    if principal is None:
        return _sign_in_first(ctx)
    owners = owners_of(principal)
    form = NewRepoForm.submitted(ctx, principal.name)
    form.check(owners)
    if form.errors:
        return _page(ctx, repo_type, form, owners, status=403 if "owner" in form.errors else 400)
    try:
        repo_id = RepoId.create(form.owner, form.name)
    except InvalidName as error:
        form.errors["name"] = error.message
        return _page(ctx, repo_type, form, owners, status=error.status)
    readme = card_for(repo_type, repo_id, form)
    problems = validate_card_text(readme, repo_type.value).errors
    if problems:  # the template and the form's checks should never let this happen
        form.errors["language"] = "; ".join(hub_message(message) for message in problems)
        return _page(ctx, repo_type, form, owners, status=400)
    try:
        handle = ctx.hub.repos.create(
            principal, repo_type, repo_id, private=form.visibility == "private"
        )
    except RepoExists as exists:
        form.errors["name"] = (
            f"A {repo_type.value} called {exists.repo_id} already exists: choose another name."
        )
        return _page(ctx, repo_type, form, owners, status=exists.status)
    except Forbidden as refused:
        form.errors["owner"] = refused.message
        return _page(ctx, repo_type, form, owners, status=refused.status)
    request = CommitRequest(
        CommitHeader(COMMIT_SUMMARY[repo_type]), [AddFile("README.md", readme.encode())]
    )
    try:
        ctx.hub.commits.commit(handle, principal, "main", request, create_pr=False)
    except HubError:
        ctx.hub.repos.delete(principal, repo_type, handle.id)  # no half-made repository stays
        raise
    return RedirectResponse(f"/{repo_type.url_prefix}{handle.id}", status_code=303)


@router.route("GET", r"/new", name="web.new_model")
def new_model_page(ctx: Ctx) -> Response:
    return _show_form(ctx, RepoType.MODEL)


@router.route("POST", r"/new")
def create_model(ctx: Ctx) -> Response:
    return _create(ctx, RepoType.MODEL)


@router.route("GET", r"/new-dataset", name="web.new_dataset")
def new_dataset_page(ctx: Ctx) -> Response:
    return _show_form(ctx, RepoType.DATASET)


@router.route("POST", r"/new-dataset")
def create_dataset(ctx: Ctx) -> Response:
    return _create(ctx, RepoType.DATASET)

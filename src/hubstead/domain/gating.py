"""Gated repositories: which files stay public, what a refused caller is told, and the access form.

A gated repository stays visible (its page, info and file listing); only file contents need an
accepted access request. The wording of the refusals is the Hub's: scripts and the web UI tell
the states apart by it, and `huggingface_hub` shows it verbatim in `GatedRepoError`.
"""

from __future__ import annotations

from typing import Any

from hubstead.domain.errors import BadRequest

STATUSES = ("pending", "accepted", "rejected")
MAX_REJECTION_REASON = 200
MAX_ANSWER = 1000

# The Hub serves these root files of a gated repository to anyone, through /resolve only, so that
# a visitor can read the card and the license before agreeing to them. The match is exact.
UNGATED_FILES = frozenset({"README.md", "LICENSE", "LICENSE.md", "LICENSE.txt"})

# Form fields the Hub fills in itself (the caller's location): never required from the requester.
AUTOMATIC_FIELD_TYPES = frozenset({"ip_location"})
TRUE_VALUES = frozenset({"true", "on", "yes", "1"})


def is_ungated_file(path: str) -> bool:
    return path in UNGATED_FILES


def refusal_message(
    kind: str, repo_id: str, repo_url: str, signed_in: bool, status: str | None
) -> str:
    """The Hub's message for a caller who may not download a gated repository's files."""
    if not signed_in:
        return (
            f"Access to {kind} {repo_id} is restricted. You must have access to it and be authenticated "
            "to access it. Please log in."
        )
    if status == "pending":
        return (
            f"Your request to access {kind} {repo_id} is awaiting a review from the repo authors."
        )
    if status == "rejected":
        return f"Your request to access {kind} {repo_id} has been rejected by the repo's authors."
    return (
        f"Access to {kind} {repo_id} is restricted and you are not in the authorized list. "
        f"Visit {repo_url} to ask for access."
    )


def check_rejection_reason(reason: Any, status: str) -> None:
    if reason is None:
        return
    if status != "rejected":
        raise BadRequest("'rejectionReason' can only be given when rejecting a request")
    if not isinstance(reason, str) or len(reason) > MAX_REJECTION_REASON:
        raise BadRequest(
            f"'rejectionReason' must be a string of at most {MAX_REJECTION_REASON} characters"
        )


def form_fields(card_data: dict[str, Any] | None) -> dict[str, Any]:
    """`extra_gated_fields` of the card as label -> spec (the card may also list single-key maps)."""
    value = (card_data or {}).get("extra_gated_fields")
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        value = {key: spec for item in value for key, spec in item.items()}
    return {str(label): spec for label, spec in value.items()} if isinstance(value, dict) else {}


def check_answers(card_data: dict[str, Any] | None, answers: Any) -> dict[str, str]:
    """The requester's answers to the card's access form, as label -> string (what the Hub stores).

    Every field the card asks for must be answered (a checkbox must be ticked, a select must name
    one of its options); answers to questions the card does not ask are dropped.
    """
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        raise BadRequest(
            "The access request must be an object mapping each form field to its answer"
        )
    kept: dict[str, str] = {}
    for label, spec in form_fields(card_data).items():
        field_type = spec.get("type") if isinstance(spec, dict) else spec
        if field_type in AUTOMATIC_FIELD_TYPES:
            continue
        kept[label] = _answer(label, field_type, spec, answers.get(label))
    return kept


def _answer(label: str, field_type: Any, spec: Any, value: Any) -> str:
    if field_type == "checkbox":
        if value is True or (isinstance(value, str) and value.strip().lower() in TRUE_VALUES):
            return "true"
        raise BadRequest(f"You must tick {label!r} to request access")
    if (
        isinstance(value, bool)
        or not isinstance(value, (str, int, float))
        or not str(value).strip()
    ):
        raise BadRequest(f"Please answer {label!r} to request access")
    text = str(value).strip()
    if len(text) > MAX_ANSWER:
        raise BadRequest(f"The answer to {label!r} is longer than {MAX_ANSWER} characters")
    if field_type == "select":
        choices = _select_values(spec)
        if text not in choices:
            raise BadRequest(f"{label!r} must be one of: {', '.join(choices)}")
    return text


def _select_values(spec: Any) -> list[str]:
    options = spec.get("options") if isinstance(spec, dict) else None
    values = []
    for option in options or []:
        value = option.get("value", option.get("label")) if isinstance(option, dict) else option
        values.append(str(value))
    return values

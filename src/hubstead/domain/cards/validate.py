"""Check a card's metadata with the Hub's rules: the entry points.

The Hub validates the YAML block of README.md on every push (and through
`POST /api/validate-yaml`) and answers with `errors` (push refused) and `warnings` (push
accepted). This package reproduces those checks so Hubstead refuses and accepts the same cards.
Where the Hub's own rule is unpublished, the choice is explained next to the rule; the research
notes (/work/shared/research/cards-tags-widgets.md, sections 1, 2, 4.5, 5.2, 10) are the source.

The checks live by card part: :mod:`.common_fields` (every card), :mod:`.model_fields` with
:mod:`.model_index` and :mod:`.widgets` (model cards), :mod:`.dataset_fields` (dataset cards).
"""

from __future__ import annotations

from collections.abc import Callable

from hubstead.domain.cards.common_fields import check_common
from hubstead.domain.cards.dataset_fields import check_dataset
from hubstead.domain.cards.loader import CardSyntaxError, split_card
from hubstead.domain.cards.model_fields import check_model
from hubstead.domain.cards.report import Metadata, Report, ValidationResult, kind

REPO_TYPES = ("model", "dataset", "space")

_CHECKS_BY_REPO_TYPE: dict[str, tuple[Callable[[Metadata, Report], None], ...]] = {
    "model": (check_common, check_model),
    "dataset": (check_common, check_dataset),
    "space": (check_common,),
}

_EMPTY_METADATA = (
    "is empty; add at least a license (and language, tags) so the Hub can index the repo"
)
_NO_FRONT_MATTER = (
    "README.md has no YAML metadata block (--- … ---) at the top; add one with at least a license"
)


def validate_metadata(metadata: Metadata, repo_type: str = "model") -> ValidationResult:
    """Check parsed card metadata with the Hub's rules; unknown keys are allowed and ignored."""
    if repo_type not in _CHECKS_BY_REPO_TYPE:
        raise ValueError(f"repo_type must be one of {', '.join(REPO_TYPES)}, not {repo_type!r}")
    report = Report()
    if not isinstance(metadata, dict):
        report.error("metadata", f"must be a mapping, not {kind(metadata)}")
        return report.result()
    if not metadata:
        report.warn("metadata", _EMPTY_METADATA)
    for check in _CHECKS_BY_REPO_TYPE[repo_type]:
        check(metadata, report)
    return report.result()


def hub_message(message: str, level: str = "Error") -> str:
    """A validator message ("path: detail") as the Hub lists it: `Error: "path" detail`.

    Clients show these lines verbatim (huggingface_hub prefixes each with "- "), and people and
    tests match on the Hub's wording, e.g. `- Error: "license" must be one of [...]`.
    """
    path, separator, detail = message.partition(": ")
    if not separator or " " in path:
        return f"{level}: {message}"
    return f'{level}: "{path}" {detail}'


def validate_card_text(text: str, repo_type: str = "model") -> ValidationResult:
    """Split a whole README.md and validate it; a YAML syntax problem becomes one error."""
    if repo_type not in _CHECKS_BY_REPO_TYPE:
        raise ValueError(f"repo_type must be one of {', '.join(REPO_TYPES)}, not {repo_type!r}")
    try:
        document = split_card(text)
    except CardSyntaxError as exc:
        return ValidationResult(errors=[f"metadata: {exc}"], warnings=[])
    if not document.has_front_matter:
        return ValidationResult(errors=[], warnings=[f"metadata: {_NO_FRONT_MATTER}"])
    return validate_metadata(document.metadata, repo_type)

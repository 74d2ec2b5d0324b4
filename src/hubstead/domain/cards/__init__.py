"""Model and dataset card metadata: the YAML front matter of README.md.

The Hub reads a repository's README.md as its card: a YAML block at the top (the metadata that
drives tags, filters, the license badge, widgets and eval results) followed by Markdown. It
checks that block on every push and refuses the push on errors, so Hubstead has to split and
judge cards the same way. Everything here is plain functions over strings and dicts.

    split_card(text)                      -> CardDocument(metadata, body, has_front_matter)
    validate_metadata(metadata, repo_type) -> ValidationResult(errors, warnings, ok)
    validate_card_text(text, repo_type)    -> ValidationResult (YAML syntax errors included)

Modules: `loader` (front matter and the YAML rules), `report` (results and messages), `fields`
(generic checks), `common_fields`, `model_fields`, `model_index`, `widgets` and
`dataset_fields` (the checks by card part), `validate` (the entry points), `vocabulary` (the
fixed lists: licenses, languages, pipeline types, libraries).
"""

from hubstead.domain.cards.loader import CardDocument, CardSyntaxError, load_yaml, split_card
from hubstead.domain.cards.report import ValidationResult
from hubstead.domain.cards.validate import hub_message, validate_card_text, validate_metadata

__all__ = [
    "CardDocument",
    "CardSyntaxError",
    "ValidationResult",
    "hub_message",
    "load_yaml",
    "split_card",
    "validate_card_text",
    "validate_metadata",
]

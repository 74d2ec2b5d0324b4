"""The cards a new repository starts with: a model card and a smaller dataset card.

A card is only useful when it says what a model is for, where it fails and how it was made, so
the new-repository page commits a README.md that already holds the sections a reader looks for,
each with a placeholder line and an HTML comment telling the author what belongs there (comments
are not rendered, so an unfilled card reads as a list of open questions, not as noise). The
sections follow the practice of model cards proposed by Mitchell et al., 2018, "Model Cards for
Model Reporting", in our own wording.

The metadata block is written with a YAML dumper, so any value is quoted as YAML needs; the
optional fields an author usually adds later are listed as YAML comments. Pure functions over
strings: the caller validates the result with `validate_card_text` like any other card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

TODO = "[More information needed]"
# cited by title, without the paper's arXiv link: the hub tags a card with every arXiv id its
# text names, and a template's citation is no paper about the new model
MITCHELL_2018 = 'Mitchell et al., 2018, "Model Cards for Model Reporting"'


# The second-level headings of each card, in order: what a checklist can look for.
MODEL_CARD_SECTIONS: tuple[str, ...] = (
    "Model description",
    "Intended uses and limitations",
    "Bias, risks and ethical considerations",
    "Training",
    "Evaluation results",
    "How to use",
)
DATASET_CARD_SECTIONS: tuple[str, ...] = (
    "Dataset description",
    "Dataset structure",
    "Data collection",
    "Limitations and biases",
)


@dataclass(frozen=True)
class NewCard:
    """What the new-repository form knows when the card is written."""

    repo_id: str  # namespace/name
    license: str  # an id of `vocabulary.LICENSES`
    languages: Sequence[str] = ("en",)  # ISO 639 codes; empty: no `language` field

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repo_id.split("/", 1)[-1]


def _metadata(card: NewCard, hints: Sequence[str]) -> str:
    """The YAML block: license (with the fields `other` requires), languages, commented hints."""
    data: dict[str, object] = {"license": card.license}
    if card.license == "other":
        # `other` needs a name and a link: placeholders the author replaces with their own
        data["license_name"] = "custom-license"
        data["license_link"] = "LICENSE"
    if card.languages:
        data["language"] = list(card.languages)
    dumped = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    lines = [dumped.rstrip("\n")]
    if card.license == "other":
        lines.append(
            "# license_name and license_link: name your license and add its text as LICENSE"
        )
    lines.extend(f"# {hint}" for hint in hints)
    return "---\n" + "\n".join(lines) + "\n---\n"


_MODEL_HINTS = (
    "Uncomment and fill what applies (the hub derives tags and filters from these):",
    "pipeline_tag: text-classification",
    "library_name: transformers",
    "base_model: namespace/the-model-this-one-starts-from",
    "datasets:",
    "- namespace/the-training-dataset",
    "tags:",
    "- a-keyword",
)


def model_card(card: NewCard) -> str:
    """The README.md of a new model repository."""
    return (
        _metadata(card, _MODEL_HINTS)
        + f"""
# {card.name}

{card.name} is a model published by {card.namespace}. Replace this paragraph with a short summary.

<!-- One or two sentences that tell a visitor what this model does and for whom: the first
paragraph is the summary this hub shows in listings and link previews. -->

## Model description

<!-- Say what kind of model this is (architecture, size, what goes in and what comes out) and
which model it was fine-tuned from, if any: also put that id in `base_model` above, so the hub
can link the two. -->

- **Developed by:** {card.namespace}
- **Model type:** {TODO}
- **Base model:** {TODO}
- **Language(s):** {", ".join(card.languages) if card.languages else TODO}
- **License:** {card.license}

## Intended uses and limitations

<!-- Who should use this model and for what. Name the uses it was built and tested for, then
the uses it is NOT suited to (other languages, other domains, decisions about people…) and
the known ways it fails. -->

### Intended uses

{TODO}

### Out-of-scope uses

{TODO}

### Limitations

{TODO}

## Bias, risks and ethical considerations

<!-- Be concrete about whom the model may serve worse and what harm a wrong answer can do:
groups under-represented in the training data, sensitive attributes the model could learn,
misuse it makes easier. Say what you measured and what you did not, and what a user should do
about it. Reporting this next to the model is the core idea of {MITCHELL_2018}. -->

{TODO}

## Training

### Training data

<!-- The datasets used for training (with links; list their ids in `datasets` above), how
they were filtered, split and pre-processed. -->

{TODO}

### Training parameters

<!-- The hyperparameters a reader needs to reproduce the run: learning rate and schedule,
batch size, number of epochs or steps, optimizer, precision, seed; and the hardware and time
it took. -->

- **Learning rate:** {TODO}
- **Batch size:** {TODO}
- **Epochs / steps:** {TODO}
- **Optimizer:** {TODO}
- **Hardware and training time:** {TODO}

### Experiment tracking

<!-- A link to the tracked runs (MLflow, Weights & Biases, TensorBoard, Aim…), so readers can
check the curves and the exact configuration behind this model. -->

- **Tracking link:** {TODO}

## Evaluation results

<!-- The metrics, on which dataset and split, with the numbers of a simple baseline for
scale. A `model-index` block in the metadata above makes the hub show them as a table. -->

| Dataset | Split | Metric | Value |
|---|---|---|---|
| {TODO} | | | |

## How to use

<!-- The few lines of code that load the model and run it on one example. -->

```python
from huggingface_hub import snapshot_download

path = snapshot_download("{card.repo_id}")
```
"""
    )


def dataset_card(card: NewCard) -> str:
    """The README.md of a new dataset repository."""
    return (
        _metadata(card, ("task_categories:", "- text-classification", "size_categories:", "- n<1K"))
        + f"""
# {card.name}

{card.name} is a dataset published by {card.namespace}. Replace this paragraph with a short summary.

<!-- One or two sentences: what this dataset holds and what it is for. -->

## Dataset description

<!-- What one example is, how many there are, in which languages, and the tasks the data was
made for. -->

- **Curated by:** {card.namespace}
- **Language(s):** {", ".join(card.languages) if card.languages else TODO}
- **License:** {card.license}

## Dataset structure

<!-- The files, splits and fields (name, type, meaning), with one example record. -->

{TODO}

## Data collection

<!-- Where the data comes from, how it was collected, cleaned and annotated, and by whom;
whether it holds personal or sensitive information and what was done about it. -->

{TODO}

## Limitations and biases

<!-- What the data does not cover, who is over- or under-represented, and the uses it is not
fit for. -->

{TODO}

## How to use

```python
from datasets import load_dataset

dataset = load_dataset("{card.repo_id}")
```
"""
    )

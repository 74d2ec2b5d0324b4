"""A model's family on this hub: the base models it derives from (and theirs), and how many
visible models derive from it, per relation (adapters, fine-tunes, quantizations, merges).

Both directions read tags the card already produced: a model whose card names
`base_model: X` carries `base_model:<relation>:X` (domain.tags.tag_order), so the models derived
from X are counted from the maintained tag counts, and the ancestors are read from the stored
cards, one per level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hubstead.domain.cards.vocabulary import BASE_MODEL_RELATIONS
from hubstead.domain.errors import HubError
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.services.cards import CardService
from hubstead.services.discovery import DiscoveryService
from hubstead.services.principal import Principal
from hubstead.services.repos import RepoService


@dataclass(frozen=True)
class Relation:
    label: str  # how the Hub names the models of this relation ("Finetunes")
    verb: str  # how a model derives from the one above it in the tree ("finetuned")


# the card's `base_model_relation` values, in the order the tree lists them
RELATIONS: dict[str, Relation] = {
    "adapter": Relation("Adapters", "adapter"),
    "finetune": Relation("Finetunes", "finetuned"),
    "quantized": Relation("Quantizations", "quantized"),
    "merge": Relation("Merges", "merged"),
}
assert set(RELATIONS) == set(BASE_MODEL_RELATIONS)
MAX_DEPTH = 4  # ancestors followed up the first base model


@dataclass(frozen=True)
class Ancestor:
    repo_id: str
    relation: str  # how the model below derives from this one
    on_hub: bool  # readable on this hub by the caller (else shown without a link)


@dataclass
class ModelTree:
    ancestors: list[Ancestor] = field(default_factory=list)  # nearest first
    derived: dict[str, int] = field(default_factory=dict)  # relation → visible models

    @property
    def empty(self) -> bool:
        return not self.ancestors and not any(self.derived.values())


def relations_of(tags: list[str]) -> list[tuple[str, str]]:
    """(base model, relation) pairs a model's tags declare, in tag order."""
    pairs = []
    for tag in tags:
        parts = str(tag).split(":", 2)
        if len(parts) == 3 and parts[0] == "base_model" and parts[1] in RELATIONS:
            pairs.append((parts[2], parts[1]))
    return pairs


class ModelTreeService:
    def __init__(self, repos: RepoService, cards: CardService, discovery: DiscoveryService):
        self.repos = repos
        self.cards = cards
        self.discovery = discovery

    def tree(self, principal: Principal | None, repo_id: str, tags: list[str]) -> ModelTree:
        tree = ModelTree()
        counts = self.discovery.visible_tag_counts(
            principal,
            RepoType.MODEL,
            [f"base_model:{relation}:{repo_id}" for relation in RELATIONS],
        )
        tree.derived = {
            relation: counts.get(f"base_model:{relation}:{repo_id}", 0) for relation in RELATIONS
        }
        seen = {repo_id.lower()}
        pairs = relations_of(tags)
        while pairs and len(tree.ancestors) < MAX_DEPTH:
            base, relation = pairs[0]
            if base.lower() in seen:  # a card naming itself, or a cycle
                break
            seen.add(base.lower())
            base_tags = self._tags_of(principal, base)
            tree.ancestors.append(Ancestor(base, relation, base_tags is not None))
            pairs = relations_of(base_tags or [])
        return tree

    def _tags_of(self, principal: Principal | None, repo_id: str) -> list[str] | None:
        """The tags of a model the caller may read, None when it is not on this hub for them."""
        try:
            handle = self.repos.get(RepoType.MODEL, RepoId.parse(repo_id), principal)
        except (HubError, ValueError):
            return None
        card = self.cards.stored(handle.row.id)
        return [str(tag) for tag in (card.tags or [])] if card is not None else []

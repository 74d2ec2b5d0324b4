"""ModelCard / metadata_update round trip, run with HF_ENDPOINT set (read at import time)."""

import json
import sys

from huggingface_hub import HfApi, ModelCard, ModelCardData, metadata_update

repo_id, card_text = sys.argv[1], sys.argv[2]
api = HfApi()
report = {}
ModelCard(card_text).push_to_hub(repo_id)
card = ModelCard.load(repo_id)
report["loaded_license"] = card.data.license
report["loaded_text_has_title"] = "Tiny sentiment model" in card.text
metadata_update(
    repo_id,
    {"pipeline_tag": "zero-shot-classification", "tags": ["sentiment", "reviews"]},
    overwrite=True,
)
info = api.model_info(repo_id)
report["updated_pipeline_tag"] = info.pipeline_tag
report["updated_card_tags"] = info.card_data.tags
report["reviews_in_tags"] = "reviews" in info.tags
ModelCard.from_template(ModelCardData(license="mit", language="de"), model_id="x").push_to_hub(
    repo_id
)
report["template_license"] = api.model_info(repo_id).card_data.license
ModelCard(card_text).push_to_hub(repo_id)
print(json.dumps(report))

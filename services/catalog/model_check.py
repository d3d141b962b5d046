"""One model per collection: the refusal a request gets when this process's model is not the one the
collection's vectors came from, and the guard that checks a collection before a request mixes them.

Vectors of two models live in unrelated spaces: a search of one model's vectors with the other's query
ranks at random, and ingesting with the other silently mixes the two. So every path that compares this
process's encoder with stored vectors, or stores new ones, checks the collection first: search, paths,
oppositions, the plane, sweeps and saved concepts (through ``QueryServices.resolver``), classify and
similarity on stored points, a map's zero-shot vocabulary, ingestion (the API at submission, and every
worker before it embeds a chunk).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.core.errors import ModelMismatch
from services.encoders.fingerprint import ModelFingerprint, RunningModel

if TYPE_CHECKING:
    from services.catalog.collections import CollectionInfo, CollectionRegistry


def mismatch(collection: str, recorded: ModelFingerprint, running: ModelFingerprint) -> ModelMismatch:
    """The 409 for collection ``collection``: what its vectors came from, what this process runs, what to do."""
    if recorded.model_id == running.model_id:
        hint = (
            f"the checkpoint at {running.model_id!r} is not the one the collection was built with (its weights "
            "or config changed); restore that checkpoint, or ingest into a new collection"
        )
    else:
        hint = f"run the server with SIGNIFIER_MODEL={recorded.model_id}, or ingest into a new collection"
    return ModelMismatch(
        f"collection {collection!r} holds vectors of model {recorded.describe()}, but this server runs "
        f"{running.describe()}; their vectors cannot be compared or mixed: {hint}",
        collection_model=recorded.as_dict(),
        server_model=running.as_dict(),
    )


class ModelGuard:
    """Checks collections against this process's model (``CollectionRegistry.check_model``)."""

    def __init__(self, registry: CollectionRegistry, running: RunningModel) -> None:
        self.registry = registry
        self.running = running

    @property
    def fingerprint(self) -> ModelFingerprint:
        return self.running.fingerprint

    def check(self, info: CollectionInfo) -> CollectionInfo:
        return self.registry.check_model(info, self.running.fingerprint)

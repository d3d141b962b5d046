"""Signifier for notebooks: ``from signifier import Client`` (see docs/python.md)."""

from services.client.errors import ApiUnreachable
from services.client.models import (
    Classifications,
    CollectionMap,
    Duplicates,
    Job,
    Oppositions,
    Plane,
    SearchResults,
    Similarity,
    Sweep,
)
from services.client.notebook import Client, IngestJob
from services.core.errors import (
    ExpressionError,
    Forbidden,
    InvalidInput,
    ModelMismatch,
    NotFoundError,
    SignifierError,
    Unauthorized,
)

__all__ = [
    "ApiUnreachable",
    "Classifications",
    "Client",
    "CollectionMap",
    "Duplicates",
    "ExpressionError",
    "Forbidden",
    "IngestJob",
    "InvalidInput",
    "Job",
    "ModelMismatch",
    "NotFoundError",
    "Oppositions",
    "Plane",
    "SearchResults",
    "SignifierError",
    "Similarity",
    "Sweep",
    "Unauthorized",
]

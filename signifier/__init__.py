"""Signifier for notebooks: ``from signifier import Client`` (see docs/python.md)."""

from services.client.errors import ApiUnreachable
from services.client.models import Classifications, Job, Oppositions, SearchResults, Similarity
from services.client.notebook import Client, IngestJob
from services.core.errors import (
    ExpressionError,
    Forbidden,
    InvalidInput,
    NotFoundError,
    SignifierError,
    Unauthorized,
)

__all__ = [
    "ApiUnreachable",
    "Classifications",
    "Client",
    "ExpressionError",
    "Forbidden",
    "IngestJob",
    "InvalidInput",
    "Job",
    "NotFoundError",
    "Oppositions",
    "SearchResults",
    "SignifierError",
    "Similarity",
    "Unauthorized",
]

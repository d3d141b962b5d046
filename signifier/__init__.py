"""Signifier for notebooks: ``from signifier import Client`` (see docs/python.md)."""

from services.client.models import Classifications, Job, Oppositions, SearchResults, Similarity
from services.client.notebook import Client, IngestJob
from services.core.errors import NotFoundError, SignifierError

__all__ = [
    "Classifications",
    "Client",
    "IngestJob",
    "Job",
    "NotFoundError",
    "Oppositions",
    "SearchResults",
    "SignifierError",
    "Similarity",
]

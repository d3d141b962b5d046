"""Which role each route needs. One table for the whole API, applied before any route runs.

- ``viewer``: read and search — every GET, and the POST routes that only compute (search,
  oppositions, embed, classify, similarity, path).
- ``editor``: also write — create collections, ingest, save concepts, cancel ingestion jobs.
- ``owner``: also delete, and manage the team's users, keys and audit log (``/v1/admin/...``).

The default is the stricter one: a new POST route needs ``editor`` and a new DELETE route ``owner``
until it is listed here as read-only or editor-level.
"""

from __future__ import annotations

from services.accounts.principal import Role

# POST routes that read and compute but store nothing: viewers may call them.
READ_ONLY_POSTS: frozenset[str] = frozenset(
    {
        "/v1/collections/{name}/search",
        "/v1/collections/{name}/oppositions",
        "/v1/collections/{name}/path",
        "/v1/collections/{name}/similarity",
        "/v1/embed",
        "/v1/classify",
        "/v1/similarity",
    }
)
# DELETE routes that undo a write rather than destroy data: editors may call them.
EDITOR_DELETES: frozenset[str] = frozenset({"/v1/jobs/{job_id}"})


def required_role(method: str, path: str) -> Role:
    """The weakest role allowed to call ``method`` on the route template ``path``."""
    method = method.upper()
    if path == "/v1/admin" or path.startswith("/v1/admin/"):
        return "owner"
    if method in ("GET", "HEAD", "OPTIONS"):
        return "viewer"
    if method == "POST" and path in READ_ONLY_POSTS:
        return "viewer"
    if method == "DELETE" and path not in EDITOR_DELETES:
        return "owner"
    return "editor"

"""Domain errors. Services raise these; only ``services/api`` maps them to HTTP statuses."""

from __future__ import annotations


class SignifierError(Exception):
    """Base of every error the service reports to a user with a clear message."""

    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(SignifierError):
    code = "not_found"


class CollectionNotFound(NotFoundError):
    code = "collection_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"collection {name!r} does not exist")
        self.name = name


class PointNotFound(NotFoundError):
    code = "point_not_found"

    def __init__(self, point_id: str, collection: str) -> None:
        super().__init__(f"point {point_id!r} does not exist in collection {collection!r}")
        self.point_id = point_id


class JobNotFound(NotFoundError):
    code = "job_not_found"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id!r} does not exist")


class ResultNotFound(NotFoundError):
    """A collection has no stored result of a job kind yet (no map, no duplicate groups)."""

    code = "result_not_found"

    def __init__(self, what: str, name: str, post: str) -> None:
        super().__init__(f"collection {name!r} has no {what} yet: POST /v1/collections/{name}/{post} computes it")


class ConceptNotFound(NotFoundError):
    code = "concept_not_found"

    def __init__(self, name: str, collection: str) -> None:
        super().__init__(f"concept '@{name}' does not exist in collection {collection!r}")
        self.name = name


class VideoNotFound(NotFoundError):
    """No video with that id has frames in the collection, or its file is no longer the one ingested."""

    code = "video_not_found"


class AlreadyExists(SignifierError):
    code = "already_exists"


class InvalidInput(SignifierError):
    """A request that is well-formed JSON but asks for something impossible or out of bounds."""

    code = "invalid_input"


class InvalidText(InvalidInput):
    """Text that is not valid Unicode (a lone surrogate). ``field`` names it; ``position`` is the character offset."""

    code = "invalid_text"

    def __init__(self, message: str, field: str, position: int) -> None:
        super().__init__(message)
        self.field = field
        self.position = position


class ExpressionError(InvalidInput):
    """A malformed query expression. ``position`` is the 0-based character offset of the problem."""

    code = "invalid_expression"

    def __init__(self, message: str, position: int, expression: str = "") -> None:
        super().__init__(message)
        self.position = position
        self.expression = expression

    def __str__(self) -> str:
        return f"{self.message} (at position {self.position})"


class PayloadTooLarge(SignifierError):
    code = "payload_too_large"


class ImageError(SignifierError):
    """An image that cannot be used: corrupt, truncated, not an image, too many pixels."""

    code = "invalid_image"


class ModelLoadError(SignifierError):
    code = "model_unavailable"


class StoreUnavailable(SignifierError):
    """The vector store cannot be reached or is locked by another process (transient)."""

    code = "store_unavailable"


class FetchError(SignifierError):
    """An image URL that could not be fetched. ``transient``: a later try may succeed (timeout, 5xx)."""

    code = "fetch_failed"

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Forbidden(SignifierError):
    code = "forbidden"


class Unauthorized(SignifierError):
    code = "unauthorized"


class QuotaExceeded(Forbidden):
    """A team quota (collections, points) would be exceeded; retrying does not help, raising the quota does."""

    code = "quota_exceeded"


class RateLimited(SignifierError):
    """Too many requests with one API key. ``retry_after`` is in seconds (whole, at least 1)."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TimeBudgetExceeded(SignifierError):
    """A request's work ran past ``SIGNIFIER_LIMITS__REQUEST_SECONDS`` (or waited that long for a turn)."""

    code = "time_budget_exceeded"


class Busy(SignifierError):
    """Too many whole-collection requests are running or waiting; retrying shortly helps.
    ``retry_after`` (seconds) is the 503's ``Retry-After``."""

    code = "busy"
    retry_after = 1


class ModelMismatch(SignifierError):
    """A collection's vectors came from another model than the one this process runs: comparing or mixing
    them would give meaningless scores. ``collection_model`` and ``server_model`` describe both (model id,
    family, dims, precision, fingerprint)."""

    code = "model_mismatch"

    def __init__(
        self,
        message: str,
        collection_model: dict[str, object] | None = None,
        server_model: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.collection_model = collection_model or {}
        self.server_model = server_model or {}

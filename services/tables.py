"""Every ORM table of the service in one ``Base.metadata``: what Alembic's autogenerate and the
migration-drift test compare the migrations against. (Running the migrations needs none of this: they
are explicit scripts.) It sits at the top, beside ``runtime``, because it imports every layer's models.
"""

from __future__ import annotations


def register_tables() -> None:
    """Import every ORM module so ``Base.metadata`` knows all tables."""
    from services.accounts import team_models  # noqa: F401
    from services.catalog import models as catalog_models  # noqa: F401
    from services.jobs import models as job_models  # noqa: F401
    from services.query import models as query_models  # noqa: F401 - concepts, templates, means

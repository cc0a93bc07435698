"""Alembic migrations and the helpers that find every model and build the schema.

Every domain's ``models.py`` registers its tables on :data:`patron.kit.db.Base.metadata`;
:func:`load_all_models` imports them all (discovered by walking the ``patron`` package, so a new
domain needs no registration) before Alembic or ``create_all`` looks at the metadata.

Every command opens its database through :func:`upgrade_schema`. Alembic itself (importing it,
reading the migration scripts, importing every model) costs about half a second, so a
database already at :data:`HEAD_REVISION` is recognised by one query and Alembic is not loaded.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import pkgutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import exc, text

import patron
from patron.kit.db import Base, database_url, null_pool_engine

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration in ``versions/``; a test holds it equal to Alembic's own head, so a new
# migration fails the suite until this names it.
HEAD_REVISION = "0040"


def load_all_models() -> list[str]:
    """Import every ``patron.<domain>.models`` module; returns their names."""
    names: list[str] = []
    for module in pkgutil.iter_modules(patron.__path__):
        if not module.ispkg:
            continue
        candidate = f"patron.{module.name}.models"
        if importlib.util.find_spec(candidate) is not None:
            importlib.import_module(candidate)
            names.append(candidate)
    return names


async def create_all(url: str) -> None:
    """Build the schema straight from the models (tests while migrations catch up)."""
    load_all_models()
    engine = null_pool_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()


def alembic_config(url: str) -> Config:
    """Alembic configuration for ``url`` with the migrations shipped inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


async def schema_revision(url: str) -> str | None:
    """The revision the database is at (None: no schema, or not one Patron made)."""
    engine = null_pool_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    except exc.DBAPIError:  # no such table (a new or a foreign database): Alembic decides
        return None
    finally:
        await engine.dispose()
    return str(rows[0][0]) if len(rows) == 1 else None


async def upgrade_schema(url: str) -> None:
    """Create or upgrade the schema to the newest migration (safe to run at every start).

    Alembic's environment runs its own event loop, so it runs in a worker thread here.
    """
    if await schema_revision(url) == HEAD_REVISION:
        return
    from alembic import command

    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")


def check_schema(url: str) -> None:
    """Raise if the models hold changes that no migration covers (``alembic check``)."""
    from alembic import command

    with warnings.catch_warnings():
        # an index the models make on PostgreSQL only (an expression, ``ddl_if``) is no
        # difference on SQLite, whose indexes of expressions Alembic cannot read back
        warnings.filterwarnings(
            "ignore", "autogenerate skipping metadata-specified expression-based index"
        )
        command.check(alembic_config(url))


def is_known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of this Patron's migrations (a backup made by a newer Patron
    is not: its schema cannot be upgraded here)."""
    if revision == HEAD_REVISION:
        return True
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(__file__).parent))
    return any(known.revision == revision for known in script.walk_revisions())

"""Alembic migrations and the helpers that find every model and build the schema.

Every domain's ``models.py`` registers its tables on :data:`patron.kit.db.Base.metadata`;
:func:`load_all_models` imports them all (discovered by walking the ``patron`` package, so a new
domain needs no registration) before Alembic or ``create_all`` looks at the metadata.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import pkgutil
from pathlib import Path

from alembic import command
from alembic.config import Config

import patron
from patron.kit.db import Base, database_url, null_pool_engine


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
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


async def upgrade_schema(url: str) -> None:
    """Create or upgrade the schema to the newest migration (safe to run at every start).

    Alembic's environment runs its own event loop, so it runs in a worker thread here.
    """
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")


def check_schema(url: str) -> None:
    """Raise if the models hold changes that no migration covers (``alembic check``)."""
    command.check(alembic_config(url))

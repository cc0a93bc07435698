"""Alembic migrations and the helpers that find every model and build the schema.

Every domain's ``models.py`` registers its tables on :data:`patron.kit.db.Base.metadata`;
:func:`load_all_models` imports them all (discovered by walking the ``patron`` package, so a new
domain needs no registration) before Alembic or ``create_all`` looks at the metadata.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

import patron
from patron.kit.db import Base, null_pool_engine


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

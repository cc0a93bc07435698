"""Programs as versioned code: apply a program file, read the active version.

Applying validates the file, stores it as a new immutable version and makes that version the
active one, in the caller's unit of work. A file whose normalised document equals the active
version's (only comments, formatting, key order or spelled-out defaults differ) writes
nothing. Rolling back is applying an older version's source again: it becomes a new version.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.kit.errors import InvalidInputError
from patron.kit.time import utcnow
from patron.programs.campaign_checks import seed_shown_problems
from patron.programs.document import checksum, diff_documents, document_of
from patron.programs.errors import (
    ProgramInvalidError,
    ProgramNotFoundError,
    ProgramVersionNotFoundError,
)
from patron.programs.loader import load_program
from patron.programs.models import ProgramRecord, ProgramVersion
from patron.programs.repository import ProgramRepository
from patron.programs.schema import Program
from patron.programs.schemas import (
    ActiveProgram,
    AppliedProgram,
    ApplyStatus,
    ProgramVersionDetail,
    ProgramVersionSummary,
)

__all__ = [
    "DEFAULT_KEY",
    "ActiveProgram",
    "AppliedProgram",
    "ApplyStatus",
    "active_program_of",
    "apply_program",
    "get_active_program",
    "get_version",
    "list_versions",
    "parse_cache",
    "program_keys",
]

DEFAULT_KEY = "default"
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CACHE_SIZE = 64


class _ParseCache:
    """Parsed programs by ``(program_id, version, checksum)``, least recently used dropped.

    Versions are immutable, so an entry never goes stale; the checksum in the key keeps one
    process that talks to several databases (tests, tenants) from mixing their programs up.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[int, int, str], Program] = OrderedDict()
        self.misses = 0

    def get(self, key: tuple[int, int, str]) -> Program | None:
        program = self.entries.get(key)
        if program is None:
            self.misses += 1
        else:
            self.entries.move_to_end(key)
        return program

    def put(self, key: tuple[int, int, str], program: Program) -> None:
        self.entries[key] = program
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def clear(self) -> None:
        self.entries.clear()
        self.misses = 0


parse_cache = _ParseCache(_CACHE_SIZE)


async def apply_program(
    session: AsyncSession,
    *,
    text: str,
    key: str = DEFAULT_KEY,
    created_by: str,
    now: datetime | None = None,
) -> AppliedProgram:
    """Validate ``text`` and make it the active version of program ``key``.

    Raises :class:`~patron.programs.errors.ProgramInvalidError` with every problem of the
    file. The program row is locked for the duration, so concurrent applies of one program
    get consecutive version numbers.
    """
    if not _KEY.fullmatch(key):
        raise InvalidInputError(
            "a program key is 1 to 64 lowercase letters, digits, '-' or '_'", field="key"
        )
    program = load_program(text)
    document = document_of(program)
    digest = checksum(document)
    moment = now or utcnow()
    repository = ProgramRepository(session)
    record = await repository.get_by_key(key, for_update=True)
    if record is None:
        record = await repository.create(key=key, name=program.program.name, now=moment)
    elif record.name != program.program.name:
        record.name = program.program.name
    active = await repository.active_version(record.id)
    if active is not None and active.checksum == digest:
        unchanged = _applied(record, active.version, active.version, ApplyStatus.UNCHANGED, [])
        return _noted(session, unchanged)
    # Re-dumped through the model: PostgreSQL's JSONB does not keep the key order.
    before = Program.model_validate(active.document) if active is not None else None
    shown = seed_shown_problems(before, program, moment) if before is not None else []
    if shown:
        raise ProgramInvalidError(shown)
    number = await repository.next_version_number(record.id)
    await repository.deactivate_versions(record.id)
    await repository.add_version(
        ProgramVersion(
            program_id=record.id,
            version=number,
            source_yaml=text,
            document=document,
            checksum=digest,
            is_active=True,
            created_at=moment,
            created_by=created_by,
        )
    )
    parse_cache.put((record.id, number, digest), program)
    if active is None:
        return _noted(session, _applied(record, number, None, ApplyStatus.CREATED, []))
    assert before is not None
    previous = document_of(before)
    changes = diff_documents(previous, document)
    return _noted(session, _applied(record, number, active.version, ApplyStatus.UPDATED, changes))


def _noted(session: AsyncSession, applied: AppliedProgram) -> AppliedProgram:
    """``applied``, described for the audit log: the version before and after, and the
    field-level changes."""
    audit_service.note(
        session,
        target=f"program:{applied.key}",
        before={"version": applied.previous_version},
        after={"version": applied.version, "changes": applied.changes},
        changed=applied.status is not ApplyStatus.UNCHANGED,
    )
    return applied


def _applied(
    record: ProgramRecord,
    version: int,
    previous: int | None,
    status: ApplyStatus,
    changes: list[str],
) -> AppliedProgram:
    return AppliedProgram(
        program_id=record.id,
        key=record.key,
        version=version,
        previous_version=previous,
        status=status,
        changes=changes,
    )


async def get_active_program(session: AsyncSession, *, key: str = DEFAULT_KEY) -> ActiveProgram:
    """The active version of program ``key``, parsed.

    The hot path: one query for ``(program_id, version, checksum)``; the document is read and
    validated only the first time this process sees that version.
    """
    repository = ProgramRepository(session)
    reference = await repository.active_reference(key)
    if reference is None:
        raise ProgramNotFoundError(
            f"no program {key!r} has been applied", field="key", params={"key": key}
        )
    return await active_program_of(session, key=key, reference=reference)


async def active_program_of(
    session: AsyncSession, *, key: str, reference: tuple[int, int, str]
) -> ActiveProgram:
    """The program ``key`` whose active version's ``(program_id, version, checksum)`` was
    read as ``reference`` (a statement that reads more than the reference alone, such as a
    commit group's first statement), parsed once per process and version."""
    program_id, version, digest = reference
    program = parse_cache.get(reference)
    if program is None:
        repository = ProgramRepository(session)
        program = Program.model_validate(await repository.document(program_id, version))
        parse_cache.put(reference, program)
    return ActiveProgram(
        program_id=program_id, key=key, version=version, checksum=digest, program=program
    )


async def program_version(session: AsyncSession, *, program_id: int, version: int) -> Program:
    """Version ``version`` of the program ``program_id``, parsed (cached as the active one
    is): what a purchase scored under that version was scored with."""
    repository = ProgramRepository(session)
    digest = await repository.version_checksum(program_id, version)
    if digest is None:
        raise ProgramVersionNotFoundError(
            f"program {program_id} has no version {version}",
            field="version",
            params={"version": version},
        )
    reference = (program_id, version, digest)
    program = parse_cache.get(reference)
    if program is None:
        program = Program.model_validate(await repository.document(program_id, version))
        parse_cache.put(reference, program)
    return program


async def program_keys(session: AsyncSession) -> list[str]:
    """The keys of the programs that have an active version, sorted."""
    return await ProgramRepository(session).active_keys()


async def list_versions(
    session: AsyncSession, *, key: str = DEFAULT_KEY
) -> list[ProgramVersionSummary]:
    """Every version of program ``key``, newest first."""
    repository = ProgramRepository(session)
    record = await _require_program(repository, key)
    rows = await repository.list_versions(record.id)
    return [ProgramVersionSummary.model_validate(row) for row in rows]


async def get_version(
    session: AsyncSession, *, key: str = DEFAULT_KEY, version: int
) -> ProgramVersionDetail:
    """One version with its source file and normalised document."""
    repository = ProgramRepository(session)
    record = await _require_program(repository, key)
    stored = await repository.get_version(record.id, version)
    if stored is None:
        raise ProgramVersionNotFoundError(
            f"program {key!r} has no version {version}",
            field="version",
            params={"key": key, "version": version},
        )
    return ProgramVersionDetail(
        key=key,
        version=stored.version,
        checksum=stored.checksum,
        is_active=stored.is_active,
        created_at=stored.created_at,
        created_by=stored.created_by,
        source_yaml=stored.source_yaml,
        document=stored.document,
    )


async def _require_program(repository: ProgramRepository, key: str) -> ProgramRecord:
    record = await repository.get_by_key(key)
    if record is None:
        raise ProgramNotFoundError(
            f"no program {key!r} has been applied", field="key", params={"key": key}
        )
    return record

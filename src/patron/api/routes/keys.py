"""``/keys``: API keys (admin only). A key is shown once, when it is created; a revoked key
stops working at once in every server process (:mod:`patron.access.revocation`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from patron.access import service as access_service
from patron.access.errors import ApiKeyNotFoundError, KeyInUseError
from patron.access.models import Role
from patron.access.schemas import Key, KeyCreate
from patron.api.deps import Admin, Now, ReadSession, WriteSession
from patron.api.params import PathId
from patron.api.responses import raises
from patron.audit import service as audit_service
from patron.kit.errors import InvalidInputError
from patron.partners import service as partner_service
from patron.partners.errors import PartnerNotFoundError
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program

router = APIRouter(prefix="/keys", tags=["keys"])
KeyId = PathId


class CreatedKey(BaseModel):
    id: int
    name: str
    role: Role
    expires_at: datetime | None
    partner_id: str | None = None
    key: str
    """The key itself: shown only now, stored only as its SHA-256."""


@router.get("", response_model=list[Key])
async def list_keys(session: ReadSession, _: Admin) -> list[Key]:
    """Every key, oldest first (never the keys themselves)."""
    return [Key.model_validate(key) for key in await access_service.list_keys(session)]


@router.post("", response_model=CreatedKey, status_code=status.HTTP_201_CREATED)
@raises(InvalidInputError, PartnerNotFoundError, ProgramNotFoundError)
async def create_key(data: KeyCreate, session: WriteSession, _: Admin, now: Now) -> CreatedKey:
    """Create a key; the answer holds the key, shown only now. 422 ``invalid_input`` (field
    ``expires_at``) for an expiry that is not in the future; a ``partner`` key names its
    ``partner_id`` (one of the program's partners: else 404 ``partner_not_found``), no other
    key does (422 ``invalid_input``, field ``partner_id``)."""
    if data.partner_id is not None:
        partner_service.require_partner(await get_active_program(session), data.partner_id)
    created = await access_service.create_key(
        session,
        name=data.name,
        role=data.role,
        now=now,
        expires_at=data.expires_at,
        partner_id=data.partner_id,
    )
    audit_service.note(session, target=f"key:{created.id}")
    return CreatedKey(
        id=created.id,
        name=created.name,
        role=created.role,
        expires_at=created.expires_at,
        partner_id=created.partner_id,
        key=created.key,
    )


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
@raises(ApiKeyNotFoundError, KeyInUseError)
async def revoke_key(key_id: KeyId, session: WriteSession, admin: Admin, now: Now) -> Response:
    """Revoke the key: every server process refuses it from the moment this answers.
    Revoking a revoked key again answers 204 and changes nothing. The key the request is
    made with cannot revoke itself (409 ``key_in_use``): use another admin key, or
    ``patron keys revoke`` on the server."""
    if key_id == admin.key_id:
        raise KeyInUseError("a key cannot revoke itself; use another admin key", field="key_id")
    changed = await access_service.revoke_key(session, key_id=key_id, now=now)
    audit_service.note(session, target=f"key:{key_id}", changed=changed)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

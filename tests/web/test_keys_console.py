"""The console's API keys (``/admin/keys``, admin only): creating a key shows it once and it
works; bad input changes nothing; revoking refuses the key at once; each change audited with
the console user. On both databases."""

from __future__ import annotations

import re
from contextlib import aclosing

import pytest
from sqlalchemy import select

from patron.access import service as access_service
from patron.access.errors import ApiKeyInvalidError
from patron.audit.models import AuditEntry
from tests.web.conftest import Console


async def _keys(console: Console) -> list[tuple[str, str, bool]]:
    async with console.database.read() as session:
        keys = await access_service.list_keys(session)
        return [(key.name, key.role.value, key.revoked_at is not None) for key in keys]


async def test_an_admin_creates_a_key_that_works_then_revokes_it(console: Console) -> None:
    client, token = await console.logged_in("admin")
    async with aclosing(client):
        made = await client.post(
            "/admin/keys?lang=en",
            data={"csrf_token": token, "name": "till-3", "role": "pos", "expires_on": "2099-12-31"},
        )
        assert made.status_code == 201
        assert made.headers["cache-control"] == "no-store"
        assert "Key till-3 is created" in made.text
        secret = re.search(r'id="new-key" class="key" type="text" value="([^"]+)"', made.text)
        assert secret is not None
        async with console.database.read() as session:
            principal = await access_service.authenticate(session, secret=secret.group(1))
        assert (principal.name, principal.role.value) == ("till-3", "pos")
        listed = await client.get("/admin/keys?lang=en")
        assert secret.group(1) not in listed.text  # shown once only
        assert secret.group(1)[:10] in listed.text  # its prefix, to recognise it
        revoked = await client.post(
            f"/admin/keys/{principal.key_id}/revoke", data={"csrf_token": token}
        )
        assert revoked.headers["location"] == "/admin/keys?notice=revoked"
        with pytest.raises(ApiKeyInvalidError):
            async with console.database.read() as session:
                await access_service.authenticate(session, secret=secret.group(1))
        again = await client.post(
            f"/admin/keys/{principal.key_id}/revoke", data={"csrf_token": token}
        )
        assert again.headers["location"] == "/admin/keys?notice=unchanged"
        missing = await client.post("/admin/keys/999999/revoke", data={"csrf_token": token})
        assert missing.status_code == 404
    assert await _keys(console) == [("till-3", "pos", True)]
    async with console.database.read() as session:
        rows = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars().all()
        audited = [(row.action, row.target, row.user_id, row.changed) for row in rows]
    admin = console.user_ids["admin"]
    key = f"key:{principal.key_id}"
    assert audited == [
        ("keys.create", key, admin, True),
        ("keys.revoke", key, admin, True),
        ("keys.revoke", key, admin, False),
    ]


@pytest.mark.parametrize(
    ("form", "shown"),
    [
        ({"name": " ", "role": "pos"}, "Give the key a name"),
        ({"name": "x" * 201, "role": "pos"}, "Give the key a name"),
        ({"name": "till", "role": "root"}, "Choose the key&#39;s role."),
        ({"name": "cafe", "role": "partner"}, "A partner key acts for one partner"),
        ({"name": "till", "role": "pos", "expires_on": "31.12.2099"}, "must be a date"),
        ({"name": "till", "role": "pos", "expires_on": "2001-01-01"}, "must be in the future"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    console: Console, form: dict[str, str], shown: str
) -> None:
    client, token = await console.logged_in("admin")
    async with aclosing(client):
        answer = await client.post("/admin/keys?lang=en", data={"csrf_token": token, **form})
        assert answer.status_code == 422
        assert shown in answer.text
        assert 'id="new-key"' not in answer.text
        forged = await client.post(
            "/admin/keys", data={"csrf_token": "x", "name": "t", "role": "pos"}
        )
        assert forged.status_code == 403
    assert await _keys(console) == []


async def test_the_page_speaks_russian_and_staff_may_not_open_it(console: Console) -> None:
    admin, _ = await console.logged_in("admin")
    async with aclosing(admin):
        russian = await admin.get("/admin/keys?lang=ru")
        assert "API-ключи" in russian.text
        assert "Ключей пока нет." in russian.text
    staff, token = await console.logged_in("staff")
    async with aclosing(staff):
        assert (await staff.get("/admin/keys")).status_code == 403
        refused = await staff.post(
            "/admin/keys", data={"csrf_token": token, "name": "t", "role": "admin"}
        )
        assert refused.status_code == 403
    assert await _keys(console) == []

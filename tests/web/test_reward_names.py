"""A reward's name per language (the file's ``names``): written by the console's rewards form
(ru, pl and en inputs; an edit that empties a language drops it) and shown by the portal in
the member's language, else the reward's ``name``; on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import aclosing

import pytest
from pydantic import ValidationError

from patron.programs import service as program_service
from patron.programs.schema import Reward
from tests.web.conftest import Console
from tests.web.test_portal import _member, _portal

FORM = {
    "code": "MUG", "name": "Mug", "name_ru": "Кружка", "name_pl": "Kubek", "name_en": "",
    "description": "", "kind": "free_product", "value": "", "sku": "MUG-1",
    "cost_points": "10", "valid_days": "", "stock": "", "min_tier": "",
}  # fmt: skip


def test_names_are_optional_per_language_and_checked() -> None:
    base = {"code": "A", "name": "Gift", "kind": "free_shipping", "cost_points": 1}
    plain = Reward.model_validate(base)
    assert plain.name_in("ru") == "Gift"
    assert "names" not in plain.model_dump(mode="json")  # old documents keep their checksum
    named = Reward.model_validate({**base, "names": {"pl": "Prezent"}})
    assert (named.name_in("pl"), named.name_in("ru"), named.name_in("de")) == (
        "Prezent", "Gift", "Gift",
    )  # fmt: skip
    assert named.model_dump(mode="json")["names"] == {"pl": "Prezent"}
    for bad in ({"de": "Geschenk"}, {"ru": ""}, {"en": "x" * 201}):
        with pytest.raises(ValidationError):
            Reward.model_validate({**base, "names": bad})


async def _reward(console: Console) -> Reward:
    async with console.database.read() as session:
        active = await program_service.get_active_program(session)
    found = active.program.reward("MUG")
    assert found is not None
    return found


async def test_the_form_writes_names_and_the_portal_shows_the_members_language(
    console: Console,
) -> None:
    admin, token = await console.logged_in("admin")
    async with aclosing(admin):
        created = await admin.post("/admin/rewards", data={**FORM, "csrf_token": token})
        assert created.status_code == 303, created.text
        edit = await admin.get("/admin/rewards/MUG/edit?lang=en")
    assert (await _reward(console)).names is not None
    assert (await _reward(console)).model_dump(mode="json")["names"] == {
        "ru": "Кружка", "pl": "Kubek",
    }  # fmt: skip
    assert 'name="name_ru" type="text" maxlength="200" lang="ru" value="Кружка"' in edit.text
    assert 'name="name_en" type="text" maxlength="200" lang="en" value=""' in edit.text
    member_id = await _member(console, "n-1", "Nina", 100)
    client, member_token = await _portal(console, member_id)
    async with aclosing(client):
        russian = (await client.get("/portal/rewards?lang=ru")).text
        polish = (await client.get("/portal/rewards?lang=pl")).text
        english = (await client.get("/portal/rewards?lang=en")).text
        redeemed = await client.post(
            "/portal/rewards/MUG/redeem", data={"csrf_token": member_token, "key": "k1"}
        )
        assert redeemed.status_code == 303
        coupons_ru = (await client.get("/portal/coupons?lang=ru")).text
    assert "<h2>Кружка</h2>" in russian
    assert "<h2>Kubek</h2>" in polish
    assert "<h2>Mug</h2>" in english  # no English name: the reward's name
    assert "Кружка" in coupons_ru


async def test_an_edit_that_empties_a_language_drops_it(console: Console) -> None:
    admin, token = await console.logged_in("admin")
    async with aclosing(admin):
        created = await admin.post("/admin/rewards", data={**FORM, "csrf_token": token})
        assert created.status_code == 303, created.text
        edited = {**FORM, "name_pl": "", "name_en": "Big mug", "csrf_token": token}
        del edited["code"]
        saved = await admin.post("/admin/rewards/MUG/edit", data=edited)
        assert saved.status_code == 303, saved.text
        assert (await _reward(console)).model_dump(mode="json")["names"] == {
            "ru": "Кружка", "en": "Big mug",
        }  # fmt: skip
        none = {**edited, "name_ru": "", "name_en": ""}
        cleared = await admin.post("/admin/rewards/MUG/edit", data=none)
        assert cleared.status_code == 303, cleared.text
    reward = await _reward(console)
    assert reward.names is None
    assert reward.name == "Mug"

"""The console's segments (``/admin/segments``): the sizes of the RFM segments and groups as
the last refresh stored them, each segment linking to the members list filtered by it, as the
API's ``GET /analytics/rfm`` counts them. On SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import aclosing

from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.privacy.conftest import populate
from tests.web.test_member_360 import _console, _text


async def test_the_segments_page_shows_the_sizes_and_links_to_the_members(api: Api) -> None:
    made = await populate(api)  # Anna is stored in at_risk, Ivan in no segment
    rfm = (await api.call("GET", "/analytics/rfm", "staff")).json()
    sizes = {row["segment"]: row["members"] for row in rfm["segments"]}
    assert sizes["at_risk"] == 1
    console = await _console(api)
    staff, _ = await console.logged_in("staff")
    async with aclosing(staff):
        page = await staff.get("/admin/segments?lang=en")
        assert page.status_code == 200
        text = _text(page.text)
        assert "1 scored members" in text
        for segment, count in sizes.items():
            link = f'href="/admin/members?segment={segment}"'
            assert (link in page.text) == (count > 0), segment
        assert "At risk 1 100%" in text
        assert "Champions 0 0%" in text
        assert "Regular buyers" in text  # the behaviour groups
        assert "R5 New 1" in text  # the grid: the cell of R5 F1, its segment and members
        members = await staff.get("/admin/members?segment=at_risk")
        assert f'href="/admin/members/{made.member_id}"' in members.text
        assert f'href="/admin/members/{made.other_id}"' not in members.text
        russian = await staff.get("/admin/segments?lang=ru")
        assert "RFM-сегменты" in russian.text
        assert "Под угрозой ухода" in russian.text
        polish = await staff.get("/admin/segments?lang=pl")
        assert "Grupy zachowań" in polish.text
        assert 'href="/admin/segments" aria-current="page"' in polish.text


async def test_before_any_refresh_the_page_says_members_are_not_scored(api: Api) -> None:
    console = await _console(api)
    staff, _ = await console.logged_in("staff")
    async with aclosing(staff):
        page = await staff.get("/admin/segments?lang=en")
    assert page.status_code == 200
    assert "Members are not scored yet" in page.text
    assert 'href="/admin/members?segment=' not in page.text

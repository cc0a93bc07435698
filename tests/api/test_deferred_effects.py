"""Deferred effects through the API's write paths (tests/campaigns/test_deferred.py has the
rest): the purchases store what the ``campaigns.apply_deferred`` handler reads."""

from __future__ import annotations

from patron.kit.dispatch import dispatch_pending
from patron.worker import registry
from tests.api.conftest import Api
from tests.api.test_purchases import enrol as api_enrol
from tests.api.test_purchases import purchase as api_purchase
from tests.campaigns.test_deferred import NOW, _program
from tests.campaigns.triggers import coupons as _coupons


async def test_the_api_paths_grant_the_same_coupons(api: Api) -> None:
    """``POST /purchases`` (the direct lane on SQLite, the fused statement on PostgreSQL) and
    ``POST /purchases/batch`` store what the handler needs: the same coupons follow."""
    response = await api.call("PUT", "/program", content=_program().encode())
    assert response.status_code == 200, response.text
    await api_enrol(api, "dee")
    big = [("b1", "food", 1, "12000.00")]
    one = await api.call("POST", "/purchases", role="pos", json=api_purchase("o-1", "dee", big))
    assert one.status_code == 201, one.text
    batch = {"purchases": [api_purchase("o-2", "dee", big), api_purchase("o-3", "dee", big)]}
    many = await api.call("POST", "/purchases/batch", role="pos", json=batch)
    assert many.status_code == 200, many.text
    report = await dispatch_pending(api.database, registry.handlers(), now=NOW)
    assert report.failed == 0
    coupons = await _coupons(api.database)
    assert sorted(code for _, code, _, _ in coupons) == ["DISC10"] * 3 + ["FREESHIP"] * 3
    assert {cost for _, _, cost, _ in coupons} == {0}
    assert len({key for _, _, _, key in coupons}) == 6

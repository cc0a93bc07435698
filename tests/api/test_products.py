"""``/api/v1/products``: create, replace and page the catalogue; refusals change nothing;
purchases of SKUs the catalogue does not know keep working."""

from __future__ import annotations

from tests.api.conftest import Api

COFFEE = {
    "sku": "cof-1",
    "names": {"ru": "Кофе", "pl": "Kawa"},
    "category": "coffee",
    "price": "500.00",
    "launched_at": "2026-03-01T00:00:00Z",
}


async def test_post_creates_then_answers_the_same_body_and_replaces(api: Api) -> None:
    created = await api.call("POST", "/products", json=COFFEE)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["price"], body["currency"], body["active"]) == (
        "Кофе",
        "500.00",
        "RUB",
        True,
    )
    again = await api.call("POST", "/products", json=COFFEE)
    assert (again.status_code, again.json()) == (200, body)
    changed = await api.call("POST", "/products", json=COFFEE | {"name": "Coffee", "active": False})
    assert changed.status_code == 200
    assert (changed.json()["id"], changed.json()["name"], changed.json()["active"]) == (
        body["id"],
        "Coffee",
        False,
    )


async def test_refusals_name_the_field_and_write_nothing(api: Api) -> None:
    cases = [
        ({"sku": "x", "price": "1.00"}, "validation_error"),  # no name
        ({"sku": "x", "name": "X", "price": "1.005"}, "invalid_amount"),
        ({"sku": "x", "name": "X", "price": "1", "currency": "XYZ"}, "invalid_product"),
    ]
    for body, code in cases:
        response = await api.call("POST", "/products", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (422, code), body
    listed = await api.call("GET", "/products", role="pos")
    assert listed.json() == {"items": [], "next_cursor": None, "next_after": None}


async def test_get_pages_and_filters(api: Api) -> None:
    for index in range(5):
        category = "tea" if index % 2 else "coffee"
        body = {"sku": f"s-{index}", "name": f"P {index}", "category": category}
        assert (await api.call("POST", "/products", json=body)).status_code == 201
    first = (await api.call("GET", "/products", role="staff", params={"limit": 3})).json()
    assert [p["sku"] for p in first["items"]] == ["s-0", "s-1", "s-2"]
    rest = await api.call("GET", "/products", params={"after": first["next_after"]})
    assert [p["sku"] for p in rest.json()["items"]] == ["s-3", "s-4"]
    assert rest.json()["next_after"] is None
    tea = await api.call("GET", "/products", params={"category": "tea"})
    assert [p["sku"] for p in tea.json()["items"]] == ["s-1", "s-3"]


async def test_a_purchase_of_an_sku_outside_the_catalogue_is_recorded(api: Api) -> None:
    assert (await api.call("POST", "/products", json=COFFEE)).status_code == 201
    member = await api.call("POST", "/members", json={"external_id": "c-1"})
    at = "2026-11-18T10:00:00Z"  # a Wednesday: no weekend boost
    purchase = {
        "external_id": "o-1",
        "member_external_id": member.json()["external_id"],
        "occurred_at": at,
        "currency": "RUB",
        "total": "1200.00",
        "lines": [
            {"sku": "cof-1", "category": "coffee", "quantity": 1, "unit_price": "500.00"},
            {"sku": "not-in-catalogue", "quantity": 1, "unit_price": "700.00"},
        ],
    }
    response = await api.call("POST", "/purchases", role="pos", json=purchase)
    assert response.status_code == 201, response.text
    assert response.json()["points_earned"] == 170  # coffee double: (1000 + 700) / 10

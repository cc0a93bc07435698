from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from patron.demo.catalogue import PRODUCTS, STORES, Channel
from patron.demo.generator import (
    DemoSettings,
    DemoStore,
    Enrolment,
    PurchaseEvent,
    RedemptionWish,
    ReturnEvent,
    generate_store,
)
from patron.demo.people import transliterate
from patron.members.schemas import Language, MemberCreate

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
SMALL = DemoSettings(now=NOW, members=60, days=365, seed=3)


@pytest.fixture(scope="module")
def small() -> DemoStore:
    return generate_store(SMALL)


@pytest.fixture(scope="module")
def large() -> DemoStore:
    return generate_store(DemoSettings(now=NOW, members=1000, days=730, seed=11))


def purchases_of(store: DemoStore) -> list[PurchaseEvent]:
    return [event for event in store.events if isinstance(event, PurchaseEvent)]


def test_the_same_settings_give_the_same_store(small: DemoStore) -> None:
    assert generate_store(SMALL) == small


def test_another_seed_gives_another_store(small: DemoStore) -> None:
    other = generate_store(DemoSettings(now=NOW, members=60, days=365, seed=4))
    assert other.members != small.members
    assert other.events != small.events


def test_small_store_counts(small: DemoStore) -> None:
    purchases = purchases_of(small)
    assert len(small.members) == 60
    assert small.count(Enrolment) == 60
    assert len(purchases) == 384
    assert sum(1 for p in purchases if p.member_external_id is None) == 58
    assert small.count(ReturnEvent) == 12
    assert small.count(RedemptionWish) == 25
    assert sum(p.total for p in purchases) == 79_069_750


def test_small_store_first_member_and_purchase(small: DemoStore) -> None:
    member = small.members[0]
    assert member.external_id == "C000001"
    assert (member.person.first_name, member.person.last_name) == ("Ирина", "Лебедева")
    assert member.person.email == "lebedeva.irina@mail.ru"
    assert member.person.phone == "+7 985 643-56-16"
    assert member.person.language is Language.RU
    assert member.enrolled_at == datetime(2025, 6, 4, 12, 51, 27, tzinfo=UTC)
    assert member.home_store.code == "msk-patriki"
    first = purchases_of(small)[0]
    assert first.external_id == "P0000001"
    assert first.member_external_id is None
    assert [(line.sku, line.quantity, line.unit_price) for line in first.lines] == [
        ("PAS-PAC", 1, 18090),
        ("COF-RAF", 1, 35000),
    ]
    assert first.total == 53090


def test_events_are_in_time_order_within_the_period(large: DemoStore) -> None:
    times = [event.at for event in large.events]
    assert times == sorted(times)
    assert large.settings.start <= times[0]
    assert times[-1] < NOW


def test_members_buy_only_after_enrolling(large: DemoStore) -> None:
    enrolled = {member.external_id: member.enrolled_at for member in large.members}
    for purchase in purchases_of(large):
        if purchase.member_external_id is not None:
            assert purchase.at > enrolled[purchase.member_external_id]


def test_purchase_mix_is_plausible(large: DemoStore) -> None:
    purchases = purchases_of(large)
    by_member = [p for p in purchases if p.member_external_id is not None]
    assert 0.14 <= 1 - len(by_member) / len(purchases) <= 0.16
    assert large.count(ReturnEvent) == round(0.03 * len(purchases))
    counts = Counter(p.member_external_id for p in by_member)
    per_member = sorted(counts.get(m.external_id, 0) for m in large.members)
    assert 3 <= sum(per_member) / len(per_member) <= 15  # a few to a few dozen
    assert 2 <= per_member[len(per_member) // 2] <= 8
    assert per_member[int(0.9 * len(per_member))] <= 40
    channels = Counter(p.channel for p in purchases)
    assert channels[Channel.STORE] > channels[Channel.APP] > 0
    assert channels[Channel.ONLINE] > 0
    totals = sorted(p.total for p in purchases)
    assert 30_000 <= totals[len(totals) // 2] <= 120_000  # a median visit of 300-1200 RUB


def test_baskets_come_from_the_catalogue(large: DemoStore) -> None:
    catalogue = {product.sku: product for product in PRODUCTS}
    store_codes = {store.code for store in STORES}
    for purchase in purchases_of(large):
        assert 1 <= len(purchase.lines) <= 5
        assert len({line.sku for line in purchase.lines}) == len(purchase.lines)
        for line in purchase.lines:
            product = catalogue[line.sku]
            assert (line.category, line.unit_price) == (product.category.value, product.price)
            assert 1 <= line.quantity <= product.max_quantity
        if purchase.channel is Channel.ONLINE:
            assert purchase.store is None
        else:
            assert purchase.store in store_codes
            assert purchase.shipping == 0


def test_returns_refer_to_earlier_purchases_and_real_lines(large: DemoStore) -> None:
    purchases = {p.external_id: p for p in purchases_of(large)}
    returns = [event for event in large.events if isinstance(event, ReturnEvent)]
    assert len({r.purchase_external_id for r in returns}) == len(returns)
    partial = 0
    for refund in returns:
        purchase = purchases[refund.purchase_external_id]
        assert refund.at > purchase.at
        if refund.lines is not None:
            partial += 1
            for line_no, quantity in refund.lines:
                assert 1 <= quantity <= purchase.lines[line_no - 1].quantity
    assert 0.2 * len(returns) <= partial <= 0.5 * len(returns)


def test_people_are_valid_members_with_unique_emails(large: DemoStore) -> None:
    emails = [member.person.email for member in large.members]
    assert len(set(emails)) == len(emails)
    languages = Counter(member.person.language for member in large.members)
    assert languages[Language.RU] > languages[Language.PL] > 0
    assert languages[Language.EN] > 0
    for member in large.members:
        person = member.person
        created = MemberCreate(
            external_id=member.external_id, name=f"{person.first_name} {person.last_name}",
            email=person.email, phone=person.phone, birth_date=person.birth_date,
            language=person.language,
        )  # fmt: skip
        assert created.email == person.email
        if person.birth_date is not None:
            assert date(1940, 1, 1) < person.birth_date < date(2009, 1, 1)


def test_wishes_follow_a_purchase_of_the_same_member(large: DemoStore) -> None:
    last_purchase: dict[str, datetime] = {}
    for event in large.events:
        if isinstance(event, PurchaseEvent) and event.member_external_id is not None:
            last_purchase[event.member_external_id] = event.at
        elif isinstance(event, RedemptionWish):
            assert 0 <= event.choice < 1
            assert (event.at - last_purchase[event.member_external_id]).total_seconds() == 30


@pytest.mark.parametrize(
    ("name", "latin"),
    [("Фёдорова", "fedorova"), ("Щукин", "shchukin"), ("Алёна", "alena"),
     ("Юлия", "yuliya"), ("Łukasz", "lukasz"), ("Wiśniewska", "wisniewska"), ("Hughes", "hughes")],
)  # fmt: skip
def test_transliterate(name: str, latin: str) -> None:
    assert transliterate(name) == latin

"""A synthetic but realistic store history: members, purchases, returns and reward wishes.

Pure: everything comes from one :class:`numpy.random.Generator` seeded by ``seed``, so the same
settings (seed, size, ``now``) give the same store, event for event.

How customers behave (the models the analytics module fits, so it can recover them):

- Repeat buying is BG/NBD: while alive a member buys as a Poisson process whose daily rate is
  drawn from Gamma(r, alpha); after each repeat purchase the member drops out with a probability
  drawn from Beta(a, b). Most members join at the till with their first purchase; the rest
  sign up online and come later (or never).
- Spend is Gamma-Gamma: a member's typical visit value comes from Gamma(q, gamma); each visit's
  budget from Gamma(p, that value / p). Baskets are built from the catalogue to that budget.
- About 15 % of purchases are made by customers who are not members (they earn nothing),
  about 3 % of purchases are returned (some in part), and some members wish to redeem a reward
  after a purchase. Whether they can afford one is for the replay to find out, from the real
  ledger, so a wish carries only a choice and how long the coupon waits before it is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from patron.demo.baskets import Line, Tastes, build_basket, draw_tastes
from patron.demo.catalogue import FREE_SHIPPING_FROM, SHIPPING_FEE, STORES, Channel, Store
from patron.demo.people import PeopleFactory, Person
from patron.demo.sampling import cumulative, pick
from patron.members.schemas import Language


@dataclass(frozen=True, slots=True)
class BehaviourModel:
    """Parameters of the repeat-buying (BG/NBD) and spend (Gamma-Gamma) processes; days, RUB."""

    r: float = 0.75  # purchase rate lambda ~ Gamma(r, rate alpha), per day
    alpha: float = 14.0
    a: float = 1.3  # dropout p ~ Beta(a, b)
    b: float = 9.0
    p: float = 4.0  # visit spend ~ Gamma(p, scale = value / p)
    q: float = 3.5  # ... value = p / nu with nu ~ Gamma(q, rate gamma)
    gamma: float = 400.0
    joins_at_till: float = 0.75
    non_member_share: float = 0.15
    return_share: float = 0.03
    partial_return_share: float = 0.4
    redeemer_share: float = 0.45
    wish_after_purchase: float = 0.3
    coupon_used_share: float = 0.75
    coupon_use_mean_days: float = 9.0


@dataclass(frozen=True, slots=True)
class DemoSettings:
    now: datetime
    members: int = 5000
    days: int = 730
    seed: int = 0
    model: BehaviourModel = field(default_factory=BehaviourModel)

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=self.days)


@dataclass(frozen=True, slots=True)
class MemberProfile:
    external_id: str
    person: Person
    enrolled_at: datetime
    home_store: Store


@dataclass(frozen=True, slots=True)
class Enrolment:
    at: datetime
    member: MemberProfile


@dataclass(frozen=True, slots=True)
class PurchaseEvent:
    at: datetime
    external_id: str
    member_external_id: str | None
    lines: tuple[Line, ...]
    shipping: int  # kopecks
    channel: Channel
    store: str | None

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines) + self.shipping


@dataclass(frozen=True, slots=True)
class ReturnEvent:
    """``lines`` as (line number from 1, quantity); None returns the whole purchase."""

    at: datetime
    external_id: str
    purchase_external_id: str
    lines: tuple[tuple[int, int], ...] | None


@dataclass(frozen=True, slots=True)
class RedemptionWish:
    """A member would like a reward now; ``choice`` in [0, 1) picks among those affordable."""

    at: datetime
    member_external_id: str
    choice: float
    use_after: timedelta | None  # when the coupon is used at checkout; None: never


Event = Enrolment | PurchaseEvent | ReturnEvent | RedemptionWish


@dataclass(frozen=True, slots=True)
class DemoStore:
    settings: DemoSettings
    members: tuple[MemberProfile, ...]
    events: tuple[Event, ...]  # in time order

    def count(self, kind: type[Event]) -> int:
        return sum(1 for event in self.events if isinstance(event, kind))


@dataclass(slots=True)
class _Draft:
    at: datetime
    member_external_id: str | None
    lines: tuple[Line, ...]
    shipping: int
    channel: Channel
    store: str | None
    wish: RedemptionWish | None = None


# Share of a café's visits by local hour (8:00 to 21:59).
_HOURS = cumulative([6, 9, 7, 5, 6, 9, 8, 5, 4, 5, 6, 5, 3, 2])
_HOME = {Language.RU: ("Moscow", 0.95), Language.PL: ("Warsaw", 0.9), Language.EN: ("Moscow", 0.6)}
_CHANNELS = (Channel.STORE, Channel.APP, Channel.ONLINE)
_PASSERS_BY = 300  # habits shared by the customers without a card


def generate_store(settings: DemoSettings) -> DemoStore:
    """Members (in enrolment order) and every event between ``start`` and ``now``."""
    rng = np.random.default_rng(settings.seed)
    people = PeopleFactory(rng, today=settings.now.date())
    clock = _Clock(rng, settings)
    profiles: list[MemberProfile] = []
    drafts: list[_Draft] = []
    enrol_offsets = np.sort(rng.beta(1.4, 1.0, size=settings.members))  # more joins lately
    for index, offset in enumerate(enrol_offsets, start=1):
        person = people.person()
        stores = _home_stores(rng, person)
        enrolled_at = max(clock.moment(offset * clock.span_days, stores[0]), settings.start)
        if enrolled_at >= settings.now:  # drawn for later today
            enrolled_at = settings.now - timedelta(seconds=int(rng.integers(60, 3600)))
        profile = MemberProfile(f"C{index:06d}", person, enrolled_at, stores[0])
        profiles.append(profile)
        habits = _habits(rng, settings.model, stores)
        drafts.extend(_member_purchases(rng, clock, settings.model, profile, habits))
    drafts.extend(_guest_purchases(rng, clock, settings.model, len(drafts)))
    drafts.sort(key=lambda draft: (draft.at, draft.member_external_id or ""))
    purchases = [
        PurchaseEvent(d.at, f"P{number:07d}", d.member_external_id, d.lines, d.shipping,
                      d.channel, d.store)
        for number, d in enumerate(drafts, start=1)
    ]  # fmt: skip
    wishes = [draft.wish for draft in drafts if draft.wish is not None]
    returns = _returns(rng, settings, purchases)
    events: list[Event] = [Enrolment(p.enrolled_at, p) for p in profiles]
    events.extend(purchases)
    events.extend(returns)
    events.extend(wishes)
    events.sort(key=_event_order)
    return DemoStore(settings=settings, members=tuple(profiles), events=tuple(events))


_KIND_ORDER = {Enrolment: 0, PurchaseEvent: 1, RedemptionWish: 2, ReturnEvent: 3}


def _event_order(event: Event) -> tuple[datetime, int, str]:
    name = event.member.external_id if isinstance(event, Enrolment) else ""
    if isinstance(event, PurchaseEvent | ReturnEvent):
        name = event.external_id
    elif isinstance(event, RedemptionWish):
        name = event.member_external_id
    return (event.at, _KIND_ORDER[type(event)], name)


class _Clock:
    """Days since ``start`` to instants during a store's opening hours, before ``now``."""

    def __init__(self, rng: np.random.Generator, settings: DemoSettings) -> None:
        self.rng = rng
        self.start = settings.start
        self.now = settings.now
        self.first_day = settings.start.astimezone(ZoneInfo("Europe/Moscow")).date()
        self.span_days = (settings.now - settings.start).total_seconds() / 86400

    def moment(self, days: float, store: Store) -> datetime:
        day = self.first_day + timedelta(days=int(days))
        hour = 8 + pick(self.rng, _HOURS)
        second = int(self.rng.integers(3600))
        local = datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(store.timezone))
        return (local + timedelta(seconds=second)).astimezone(UTC)

    def days_since_start(self, moment: datetime) -> float:
        return (moment - self.start).total_seconds() / 86400


def _home_stores(rng: np.random.Generator, person: Person) -> tuple[Store, ...]:
    city, share = _HOME[person.language]
    if rng.random() >= share:
        city = "Warsaw" if city == "Moscow" else "Moscow"
    return _rotate(rng, tuple(store for store in STORES if store.city == city))


def _rotate(rng: np.random.Generator, stores: tuple[Store, ...]) -> tuple[Store, ...]:
    """The same stores, a random one first (the customer's usual store)."""
    first = int(rng.integers(len(stores)))
    return stores[first:] + stores[:first]


@dataclass(frozen=True, slots=True)
class _Habits:
    tastes: Tastes
    stores: tuple[Store, ...]
    channels: tuple[float, ...]
    value: float  # typical visit budget, kopecks
    is_redeemer: bool


def _habits(rng: np.random.Generator, model: BehaviourModel, stores: tuple[Store, ...]) -> _Habits:
    nu = rng.gamma(model.q, 1.0 / model.gamma)
    return _Habits(
        tastes=draw_tastes(rng),
        stores=stores,
        channels=cumulative(rng.dirichlet(np.array([6.0, 1.6, 1.0])).tolist()),
        value=model.p / nu * 100,
        is_redeemer=bool(rng.random() < model.redeemer_share),
    )


def _purchase_days(
    rng: np.random.Generator, model: BehaviourModel, first: float, end: float
) -> list[float]:
    """Days of a member's purchases: the first at ``first``, then BG/NBD repeats until dropout."""
    rate = rng.gamma(model.r, 1.0 / model.alpha)
    dropout = rng.beta(model.a, model.b)
    days = [first]
    while True:
        following = days[-1] + rng.exponential(1.0 / rate)
        if following >= end:
            return days
        days.append(following)
        if rng.random() < dropout:
            return days


def _member_purchases(
    rng: np.random.Generator, clock: _Clock, model: BehaviourModel, profile: MemberProfile,
    habits: _Habits,
) -> list[_Draft]:  # fmt: skip
    joined = clock.days_since_start(profile.enrolled_at)
    at_till = rng.random() < model.joins_at_till
    first = joined if at_till else joined + rng.exponential(20.0)
    if first >= clock.span_days:
        return []
    drafts: list[_Draft] = []
    previous = profile.enrolled_at
    for number, day in enumerate(_purchase_days(rng, model, first, clock.span_days)):
        draft = _visit(rng, clock, habits, profile.external_id, day)
        if number == 0 and at_till:
            draft.at = profile.enrolled_at + timedelta(seconds=int(rng.integers(60, 600)))
        draft.at = max(draft.at, previous + timedelta(minutes=int(rng.integers(5, 90))))
        if draft.at >= clock.now:
            break
        previous = draft.at
        if habits.is_redeemer and rng.random() < model.wish_after_purchase:
            draft.wish = _wish(rng, model, profile.external_id, draft.at)
        drafts.append(draft)
    return drafts


def _visit(
    rng: np.random.Generator, clock: _Clock, habits: _Habits, member: str | None, day: float
) -> _Draft:
    channel = _CHANNELS[pick(rng, habits.channels)]
    store = habits.stores[0] if rng.random() < 0.8 else habits.stores[-1]
    budget = rng.gamma(4.0, habits.value / 4.0) * (3.0 if channel is Channel.ONLINE else 1.0)
    lines = build_basket(rng, habits.tastes, channel, budget)
    shipping = 0
    if channel is Channel.ONLINE and sum(line.amount for line in lines) < FREE_SHIPPING_FROM:
        shipping = SHIPPING_FEE if rng.random() < 0.85 else 0  # the rest collect in a store
    at = clock.moment(day, store)
    store_code = None if channel is Channel.ONLINE else store.code
    return _Draft(at, member, lines, shipping, channel, store_code)


def _wish(
    rng: np.random.Generator, model: BehaviourModel, member: str, after: datetime
) -> RedemptionWish:
    use_after = None
    if rng.random() < model.coupon_used_share:
        use_after = timedelta(hours=1 + float(rng.exponential(model.coupon_use_mean_days * 24)))
    return RedemptionWish(after + timedelta(seconds=30), member, float(rng.random()), use_after)


def _guest_purchases(
    rng: np.random.Generator, clock: _Clock, model: BehaviourModel, member_purchases: int
) -> list[_Draft]:
    """Purchases by customers without a card: a share of all purchases, uniform over time."""
    count = round(member_purchases * model.non_member_share / (1 - model.non_member_share))
    moscow = tuple(store for store in STORES if store.city == "Moscow")
    warsaw = tuple(store for store in STORES if store.city == "Warsaw")
    passers_by = [
        _habits(rng, model, _rotate(rng, moscow if rng.random() < 0.8 else warsaw))
        for _ in range(_PASSERS_BY)
    ]
    drafts: list[_Draft] = []
    for _ in range(count):
        habits = passers_by[int(rng.integers(_PASSERS_BY))]
        draft = _visit(rng, clock, habits, None, float(rng.uniform(0, clock.span_days)))
        if clock.start <= draft.at < clock.now:
            drafts.append(draft)
    return drafts


def _returns(
    rng: np.random.Generator, settings: DemoSettings, purchases: list[PurchaseEvent]
) -> list[ReturnEvent]:
    model = settings.model
    latest = settings.now - timedelta(minutes=10)
    eligible = [index for index, p in enumerate(purchases) if p.at < latest]
    count = min(round(len(purchases) * model.return_share), len(eligible))
    chosen = np.sort(rng.choice(len(eligible), size=count, replace=False))
    returns: list[ReturnEvent] = []
    for number, position in enumerate(chosen, start=1):
        purchase = purchases[eligible[int(position)]]
        delay = timedelta(hours=1 + float(rng.exponential(4 * 24)))
        at = min(purchase.at + delay, latest)
        lines = _partial_lines(rng, purchase) if rng.random() < model.partial_return_share else None
        returns.append(ReturnEvent(at, f"R{number:06d}", purchase.external_id, lines))
    return returns


def _partial_lines(
    rng: np.random.Generator, purchase: PurchaseEvent
) -> tuple[tuple[int, int], ...] | None:
    """One line back, or part of a single line's quantity; None when only one unit was bought."""
    if len(purchase.lines) > 1:
        line_no = 1 + int(rng.integers(len(purchase.lines)))
        return ((line_no, purchase.lines[line_no - 1].quantity),)
    quantity = purchase.lines[0].quantity
    if quantity == 1:
        return None
    return ((1, 1 + int(rng.integers(quantity - 1))),)

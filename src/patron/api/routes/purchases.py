"""``/purchases``: record purchases and returns, explain their points."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.access.models import Role
from patron.access.schemas import Principal
from patron.api.deps import (
    DatabaseDep,
    Now,
    Pos,
    Reader,
    ReadSession,
    WriteSession,
    admit,
    allow,
    audit_request,
    get_database,
    principal,
    write_groups,
)
from patron.api.direct import Handler, direct_route, is_json
from patron.api.params import PathId
from patron.api.purchase_fingerprints import (
    PurchaseBatchWithFingerprints,
    PurchaseWithFingerprints,
    check_batch_fingerprints,
    check_fingerprints,
)
from patron.api.responses import raises
from patron.api.till_identity import TillIdentity, TillIdentityDep, till_of_headers
from patron.kit.db import Database
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.kit.group_commit import Prelude
from patron.kit.pace import Pace
from patron.kit.time import utcnow
from patron.members.errors import (
    MemberBlockedError,
    MemberNotFoundError,
    VelocityExceededError,
)
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program
from patron.purchases import batch, buyer, earn, group_lock, returns
from patron.purchases.errors import (
    CurrencyMismatchError,
    InvalidAmountError,
    LimitExceededError,
    OccurredInFutureError,
    PointsAlreadySpentError,
    PurchaseNotFoundError,
    ReturnExceedsPurchaseError,
    TotalMismatchError,
)
from patron.purchases.schemas import (
    MOST_LINES_PER_BATCH,
    MOST_PURCHASES_PER_BATCH,
    PurchaseBatchCreate,
    PurchaseBatchItem,
    PurchaseBatchResult,
    PurchaseCreate,
    PurchaseRead,
    ReturnCreate,
    ReturnRead,
)
from patron.referrals.schemas import EnrolmentReferral
from patron.wallet.errors import (
    InsufficientWalletError,
    WalletAlreadySpentError,
    WalletAmountInvalidError,
)

router = APIRouter(prefix="/purchases", tags=["purchases"])

PurchaseId = PathId

# who may record a purchase: one declaration for both ways in, the fast path and the route
_RECORDS = allow(Role.POS)
_PURCHASE_JSON = TypeAdapter(PurchaseRead)


async def record_purchase_fast(request: Request, standard: Handler) -> Response:
    """``create_purchase`` below without FastAPI's dependency solving (the hot route, see
    :mod:`patron.api.direct`). Outcomes come in FastAPI's order: a body that is not JSON, then
    a missing, unknown or unadmitted key, then the body's fields (a body this path does not
    accept goes to the standard handler, which answers as before), then the unit of work. That
    shares its transaction and commit with the purchases arriving meanwhile
    (:mod:`patron.kit.group_commit`): its own answer or error, and no answer before the
    commit."""
    if not is_json(request):
        return await standard(request)
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return await standard(request)
    database = await get_database(request)
    caller = admit(await principal(request, database), _RECORDS.roles)
    if caller.role is not Role.POS:  # an admin's purchase goes through the audited route
        return await standard(request)
    try:
        data = PurchaseCreate.model_validate(payload)
    except ValidationError:
        return await standard(request)
    if data.member_id is not None:  # a till names a member by id: the route checks its identity
        return await standard(request)
    now = utcnow()

    async def record(session: AsyncSession) -> earn.RecordedPurchase:
        active = await group_lock.program_of_group(session)
        return await earn.record_purchase(session, active=active, data=data, now=now)

    # without a savepoint on PostgreSQL (a round trip each; a failing purchase then has the
    # others of its group run again); on SQLite a savepoint costs no round trip. The group's
    # first statement reads the program and locks every member of its purchases
    # (purchases.group_lock).
    recorded = await write_groups(request, database).run(
        record,
        order=buyer.lock_order(data),
        savepoint=database.is_sqlite,
        prelude=Prelude(group_lock.lock_group, data.member_external_id or ""),
    )
    return Response(
        _PURCHASE_JSON.dump_json(recorded.purchase),
        status_code=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        media_type="application/json",
    )


@raises(
    ProgramNotFoundError,
    MemberNotFoundError,
    MemberBlockedError,
    IdempotencyConflictError,
    CurrencyMismatchError,
    InvalidAmountError,
    InvalidInputError,
    TotalMismatchError,
    OccurredInFutureError,
    LimitExceededError,
    InsufficientWalletError,
    WalletAmountInvalidError,
    VelocityExceededError,
)
async def create_purchase(
    data: PurchaseWithFingerprints,
    session: WriteSession,
    response: Response,
    _: Annotated[Principal, Depends(_RECORDS)],
    till: TillIdentityDep,
    now: Now,
) -> PurchaseRead:
    """Record a completed purchase and credit its points (201), or answer a retry of the same
    body with the same result (200). A different body with the same ``external_id`` is 409
    ``idempotency_conflict``. A till that names the member by ``member_id`` presents the
    member it identified (``X-Patron-Member-Token``, ``-External-Id`` or ``-Phone``).
    ``device_fingerprint`` and ``payment_fingerprint`` are stored hashed for the member and
    compared with the other side of the member's open referral (self-referral check)."""
    await till.check(session, data.member_id, now=now)
    active = await get_active_program(session)
    recorded = await earn.record_purchase(session, active=active, data=data.purchase(), now=now)
    await check_fingerprints(
        session,
        active=active,
        member_id=recorded.purchase.member_id,
        given=data.fingerprints(),
        now=now,
    )
    if not recorded.created:
        response.status_code = status.HTTP_200_OK
    return recorded.purchase


router.add_api_route(
    "",
    create_purchase,
    methods=["POST"],
    response_model=PurchaseRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": PurchaseRead, "description": "The same purchase sent again"}},
    route_class_override=direct_route(record_purchase_fast),
)


_BATCH_ITEM_JSON = TypeAdapter(PurchaseBatchItem)


async def record_batch_fast(request: Request, standard: Handler) -> Response:
    """``create_purchases`` below in slices (issue 16): on SQLite a maximal batch (500
    purchases, 20,000 lines) is seconds of work in the event loop's thread, and FastAPI would
    validate its body and serialise its answer in one go each (hundreds of milliseconds on a
    busy machine) with no other request answered meanwhile. Here the body is parsed at once
    (orjson: milliseconds), then each purchase is validated, recorded and serialised one at a
    time, with breaks for the loop between them (:class:`~patron.kit.pace.Pace`). A body this
    path does not accept as it is (not JSON, a field at fault, too many lines, fingerprints),
    and an admin's batch (audited), go to the standard handler, which answers as before."""
    if not is_json(request):
        return await standard(request)
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return await standard(request)
    database = await get_database(request)
    caller = admit(await principal(request, database), _RECORDS.roles)
    till = till_of_headers(caller, request.headers)
    data = await _paced_batch(payload) if caller.role is Role.POS and till else None
    if data is None or till is None:
        return await standard(request)
    result = await _record_batch(request, database, data, utcnow(), till)
    pace = Pace()
    items: list[bytes] = []
    for item in result.results:
        await pace.step()
        items.append(_BATCH_ITEM_JSON.dump_json(item))
    return Response(
        b'{"results":[' + b",".join(items) + b"]}",
        status_code=status.HTTP_200_OK,
        media_type="application/json",
    )


async def _paced_batch(payload: object) -> PurchaseBatchCreate | None:
    """The batch in ``payload``, its purchases validated one at a time with breaks for the
    loop; ``None`` when anything is off (the standard handler then says what)."""
    if not isinstance(payload, dict) or payload.keys() != {"purchases"}:
        return None
    purchases = payload["purchases"]
    if not isinstance(purchases, list) or not 1 <= len(purchases) <= MOST_PURCHASES_PER_BATCH:
        return None
    pace = Pace()
    valid: list[PurchaseCreate] = []
    lines = 0
    for purchase in purchases:
        await pace.step()
        try:
            valid.append(PurchaseCreate.model_validate(purchase))
        except ValidationError:
            return None
        lines += len(valid[-1].lines)
    if lines > MOST_LINES_PER_BATCH:
        return None
    return PurchaseBatchCreate.model_construct(purchases=valid)


async def _record_batch(
    request: Request,
    database: Database,
    data: PurchaseBatchCreate,
    now: datetime,
    till: TillIdentity,
    fingerprints: list[EnrolmentReferral | None] | None = None,
) -> PurchaseBatchResult:
    async def record(session: AsyncSession) -> PurchaseBatchResult:
        active = await get_active_program(session)
        result = await batch.record_purchases(
            session, active=active, data=data, now=now, admit=_admission(session, till, now)
        )
        if fingerprints is not None:
            await check_batch_fingerprints(
                session, active=active, given=fingerprints, result=result, now=now
            )
        await audit_request(session, request)  # an admin's batch is audited like its purchase
        return result

    return await database.write_again_on_deadlock(record)


@raises(ProgramNotFoundError)
async def create_purchases(
    data: PurchaseBatchWithFingerprints,
    request: Request,
    database: DatabaseDep,
    _: Pos,
    till: TillIdentityDep,
    now: Now,
) -> PurchaseBatchResult:
    """Record up to 500 purchases in one unit of work; each result carries the status the
    purchase would have had alone (201 new, 200 retry, 4xx with its error). A failing purchase
    does not stop the others. A batch that loses a deadlock on PostgreSQL (its members are
    locked in one order, but purchases without a member, or a member named by id here and by
    external id elsewhere, can still close a cycle) is run again whole. A till's purchase that
    names its member by ``member_id`` is refused alone (403 ``member_not_identified``) unless
    it is the member the till identified (one member per batch). Each purchase may carry
    ``device_fingerprint`` and ``payment_fingerprint`` as ``POST /purchases`` does."""
    return await _record_batch(
        request, database, data.batch(), now, till, fingerprints=data.fingerprints()
    )


router.add_api_route(
    "/batch",
    create_purchases,
    methods=["POST"],
    response_model=PurchaseBatchResult,
    route_class_override=direct_route(record_batch_fast),
)


def _admission(session: AsyncSession, till: TillIdentity, now: datetime) -> batch.Admission:
    async def admit(purchase: PurchaseCreate) -> None:
        await till.check(session, purchase.member_id, now=now, field="member_id")

    return admit


@router.get("/{purchase_id:int}", response_model=PurchaseRead)
@raises(PurchaseNotFoundError)
async def read_purchase(purchase_id: PurchaseId, session: ReadSession, _: Reader) -> PurchaseRead:
    """A purchase with its lines and the per-rule ``breakdown`` of its points."""
    return await earn.get_purchase(session, purchase_id=purchase_id)


@router.post(
    "/{purchase_id:int}/returns",
    response_model=ReturnRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": ReturnRead, "description": "The same return sent again"}},
)
@raises(
    ProgramNotFoundError,
    PurchaseNotFoundError,
    IdempotencyConflictError,
    ReturnExceedsPurchaseError,
    PointsAlreadySpentError,
    WalletAlreadySpentError,
    InvalidAmountError,
    CurrencyMismatchError,
    InvalidInputError,
)
async def create_return(
    purchase_id: PurchaseId,
    data: ReturnCreate,
    session: WriteSession,
    response: Response,
    _: Pos,
    now: Now,
) -> ReturnRead:
    """Refund part (by lines or amount) or all of a purchase; its points are reversed in
    proportion under the program's return policy. Idempotent by ``external_id``."""
    active = await get_active_program(session)
    record, created = await returns.record_return(
        session, active=active, purchase_id=purchase_id, data=data, now=now
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return record

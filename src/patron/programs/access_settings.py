"""The ``access`` section of the program file: what each role sees (docs/program.md)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from patron.programs.strict import Strict


class PersonalField(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    BIRTH_DATE = "birth_date"
    ATTRIBUTES = "attributes"


class AccessSettings(Strict):
    """``pos_member_fields``: the personal fields a till (``pos`` key) is shown in a member's
    answers. None by default: a till sees the member's name, tier and points, and email,
    phone, birth date and attributes come back empty (``null``, ``{}``).

    ``pos_member_id``: whether a till may act for a member it names only by Patron's numeric
    id. False by default: a till presents how it identified the member (the card token, the
    card number or the phone, ``patron.api.till_identity``) with every request that names a
    member by id, else 403 ``member_not_identified``. True keeps the old behaviour, for a shop
    whose tills keep member ids of their own."""

    pos_member_fields: list[PersonalField] = Field(default_factory=list, max_length=4)
    pos_member_id: bool = False

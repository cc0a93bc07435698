"""What the privacy use cases answer: the export of a member and the outcome of an erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

Row = dict[str, Any]


class MemberExport(BaseModel):
    """Everything Patron holds about one member (GDPR art. 15 and 20): the member's row as
    ``profile`` and, per table, every row that refers to the member, with every column as it
    is stored (times in ISO 8601 UTC, money in minor units, points as integers), oldest
    first."""

    model_config = ConfigDict(frozen=True)

    member_id: int
    exported_at: datetime
    profile: Row
    consents: list[Row]
    consent_history: list[Row]
    account: list[Row]
    ledger: list[Row]
    lots: list[Row]
    lot_movements: list[Row]
    expiry_notices: list[Row]
    purchases: list[Row]
    purchase_lines: list[Row]
    returns: list[Row]
    rule_usages: list[Row]
    campaign_usages: list[Row]
    campaign_applications: list[Row]
    coupons: list[Row]
    tier_history: list[Row]
    tickets: list[Row]
    ticket_messages: list[Row]
    ticket_events: list[Row]
    ticket_analyses: list[Row]
    goodwill: list[Row]
    reviews: list[Row]
    review_replies: list[Row]
    survey_invitations: list[Row]
    survey_responses: list[Row]
    survey_answers: list[Row]
    segments: list[Row]
    events: list[Row]
    messages: list[Row]
    portal_links: list[Row]
    portal_sessions: list[Row]
    fingerprints: list[Row]
    referrals: list[Row]
    wallets: list[Row] = []
    wallet_entries: list[Row] = []
    flags: list[Row] = []  # abuse flags (docs/security.md, "Abuse controls")
    raffle_entries: list[Row] = []  # a raffle's entries the member earned
    challenge_progress: list[Row] = []  # progress on challenges, per period (docs/campaigns.md)
    challenge_steps: list[Row] = []  # what each challenge counted
    badges: list[Row] = []  # the badges the member earned
    referral_visits: list[Row] = []  # visitors who opened the member's referral link


class Erasure(BaseModel):
    """A member whose personal data is erased (GDPR art. 17): the same answer every time."""

    model_config = ConfigDict(frozen=True)

    member_id: int
    external_id: str
    status: str
    erased_at: datetime

"""The program file (program-as-code): typed, validated, the single source of a program's rules.

Rules are written in the vocabulary of :mod:`patron.rules.vocabulary` (condition, effect and
trigger types); this module puts them together with the rest of a program.

`docs/program.md` documents every field. Money is written as decimal strings in the program
currency and kept as :class:`~decimal.Decimal` here (``minor()`` turns it into integer minor
units); multipliers are decimals with at most 4 places; points are integers. Nothing here is a
float, so every computation downstream can be exact.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from patron.kit import money
from patron.kit.language import Language as Language
from patron.programs.abuse_settings import Abuse
from patron.programs.access_settings import AccessSettings
from patron.programs.campaign_checks import (
    campaign_problems,
    reward_audience_problems,
    standing_discount_problems,
)
from patron.programs.challenge_checks import challenge_problems
from patron.programs.feedback_settings import (
    ReviewSettings,
    SurveyDefinition,
    unique_survey_keys,
)
from patron.programs.limit_settings import Limits
from patron.programs.message_templates import MessageTemplate, message_problems
from patron.programs.partner_settings import Partner, partner_problems
from patron.programs.purchase_settings import PurchaseSettings, Returns
from patron.programs.referral_settings import Referrals, referral_problems
from patron.programs.reward_settings import MONEY_VALUED
from patron.programs.reward_settings import Points as Points
from patron.programs.reward_settings import Reward as Reward
from patron.programs.reward_settings import RewardKind as RewardKind
from patron.programs.segmentation import SegmentSettings
from patron.programs.strict import Strict
from patron.programs.support_settings import Support
from patron.programs.tier_settings import Downgrade as Downgrade
from patron.programs.tier_settings import QualifyOn as QualifyOn
from patron.programs.tier_settings import TierLevel as TierLevel
from patron.programs.tier_settings import Tiers as Tiers
from patron.rules.vocabulary import Campaign as Campaign
from patron.rules.vocabulary import EarnRule as EarnRule
from patron.rules.vocabulary import LimitPeriod as LimitPeriod
from patron.rules.vocabulary import Rounding as Rounding
from patron.rules.vocabulary import RuleSet as RuleSet
from patron.rules.vocabulary import Trigger
from patron.rules.vocabulary import Weekday as Weekday
from patron.rules.vocabulary.challenges import Challenge as Challenge
from patron.rules.vocabulary.discounts import StandingDiscount
from patron.rules.vocabulary.rules import trigger_problems


class ProgramInfo(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: str
    timezone: str = "UTC"
    default_language: Language = Language.EN
    # The country of phone numbers written without one (ISO 3166 alpha-2, such as PL), for
    # imports: ``601 234 567`` becomes ``+48601234567``. Unset: numbers need their country code.
    phone_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not money.is_currency(value):
            raise ValueError("must be an ISO 4217 currency code such as RUB, PLN or EUR")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("must be an IANA time zone such as Europe/Moscow") from error
        return value


class BaseRate(Strict):
    """``points`` for every ``per_amount`` of eligible spend, rounded once per purchase."""

    points: Annotated[int, Field(gt=0, le=1_000_000, strict=True)]
    per_amount: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
    rounding: Rounding = Rounding.FLOOR


class ExpiryRoundTo(StrEnum):
    END_OF_MONTH = "end_of_month"
    END_OF_YEAR = "end_of_year"


DEFAULT_NOTICE_DAYS = 14
"""``earning.expiry.notice_days`` when the program file does not say."""


class Expiry(Strict):
    """When an earned lot expires, counted from the moment it becomes active.

    ``after_days`` or ``after_months``, optionally pushed to the end of that month or year
    (``round_to``); ``round_to`` alone expires at the end of the activation month or year;
    ``never: true`` keeps points forever.
    """

    # at most 100 years: an expiry date past the calendar's end made every purchase a 500
    after_days: Annotated[int, Field(gt=0, le=36_600, strict=True)] | None = None
    after_months: Annotated[int, Field(gt=0, le=1_200, strict=True)] | None = None
    round_to: ExpiryRoundTo | None = None
    never: bool = False
    notice_days: Annotated[int, Field(ge=0, le=365, strict=True)] = Field(
        default=DEFAULT_NOTICE_DAYS, exclude_if=lambda value: value == DEFAULT_NOTICE_DAYS
    )
    """Days before a lot expires that the daily job announces it (``points.expiring``, one
    event per member and expiry date); 0: no announcements. Left out of the stored document
    while it is the default, so programs written before it keep their checksums."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.after_days is not None and self.after_months is not None:
            raise ValueError("give after_days or after_months, not both")
        timed = self.after_days is not None or self.after_months is not None
        if self.never and (timed or self.round_to is not None):
            raise ValueError(
                "never: must not be true together with after_days, after_months or round_to"
            )
        if not self.never and not timed and self.round_to is None:
            raise ValueError("give after_days, after_months, round_to or never: true")
        return self


class Earning(Strict):
    base: BaseRate
    exclude_shipping: bool = True
    rules: list[EarnRule] = Field(default_factory=list)
    pending_days: Annotated[int, Field(ge=0, le=365, strict=True)] = 0
    expiry: Expiry = Expiry(never=True)

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[EarnRule]) -> list[EarnRule]:
        seen: set[str] = set()
        for index, rule in enumerate(rules):
            if rule.id in seen:
                raise ValueError(f"[{index}].id: rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return rules


class Program(Strict):
    program: ProgramInfo
    earning: Earning
    purchases: PurchaseSettings = PurchaseSettings()
    tiers: Tiers | None = None
    rewards: list[Reward] = Field(default_factory=list)
    returns: Returns = Returns()
    support: Support | None = None
    segments: SegmentSettings | None = None
    surveys: list[SurveyDefinition] = Field(default_factory=list)
    reviews: ReviewSettings = ReviewSettings()
    # Left out of the stored document while they are the defaults, like rule_sets: programs
    # written before these sections existed keep their documents and checksums.
    limits: Limits = Field(default_factory=Limits, exclude_if=lambda value: value == Limits())
    access: AccessSettings = Field(
        default_factory=AccessSettings, exclude_if=lambda value: value == AccessSettings()
    )
    abuse: Abuse = Field(default_factory=Abuse, exclude_if=lambda value: value == Abuse())
    # Rule sets of other triggers than purchase: validated and stored, not run yet (the
    # campaigns run them). Left out of the stored document when empty, so that the documents
    # (and checksums) of programs without them are what they were.
    rule_sets: list[RuleSet] = Field(default_factory=list, exclude_if=lambda value: not value)
    # Campaigns (docs/campaigns.md); left out of the stored document when empty, as rule_sets.
    campaigns: list[Campaign] = Field(default_factory=list, exclude_if=lambda value: not value)
    # Challenges and badges (docs/campaigns.md); left out of the stored document when empty.
    challenges: list[Challenge] = Field(default_factory=list, exclude_if=lambda value: not value)
    # Referrals (docs/campaigns.md, "Referrals"); left out of the stored document when absent.
    referrals: Referrals | None = Field(default=None, exclude_if=lambda value: value is None)
    # The standing discount program (docs/campaigns.md); left out of the document when empty.
    standing_discounts: list[StandingDiscount] = Field(
        default_factory=list, exclude_if=lambda value: not value
    )
    # Coalition partners (docs/partners.md); left out of the stored document when empty.
    partners: list[Partner] = Field(default_factory=list, exclude_if=lambda value: not value)
    # Messages that send_message effects send (docs/campaigns.md, "Messages to members");
    # left out of the stored document when empty.
    messages: list[MessageTemplate] = Field(
        default_factory=list, exclude_if=lambda value: not value
    )

    @model_validator(mode="after")
    def _cross_references(self) -> Self:
        """Every problem at once, one ``path: message`` per line (the loader splits them)."""
        problems = self._unknown_references() + self._money_place_problems()
        problems += self._rule_set_problems()
        problems += campaign_problems(self) + challenge_problems(self)
        problems += standing_discount_problems(self) + reward_audience_problems(self)
        problems += referral_problems(self.referrals, {reward.code for reward in self.rewards})
        problems += self._referral_money_problems()
        problems += unique_survey_keys(self.surveys)
        problems += partner_problems(self.partners, self.program.currency)
        problems += message_problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _unknown_references(self) -> list[str]:
        problems: list[str] = []
        tier_ids = {level.id for level in self.tiers.levels} if self.tiers else set()
        for index, rule in enumerate(self.earning.rules):
            unknown = set(rule.when.tier_in or ()) - tier_ids
            if unknown:
                path = f"earning.rules[{index}].when.tier_in"
                problems.append(f"{path}: names unknown tiers {sorted(unknown)}")
        seen: set[str] = set()
        for index, reward in enumerate(self.rewards):
            if reward.code in seen:
                problems.append(f"rewards[{index}].code: reward code {reward.code!r} is used twice")
            seen.add(reward.code)
            if reward.min_tier is not None and reward.min_tier not in tier_ids:
                problems.append(f"rewards[{index}].min_tier: {reward.min_tier!r} is not a tier id")
        return problems

    def _referral_money_problems(self) -> list[str]:
        if self.referrals is None:
            return []
        try:
            self.minor(self.referrals.min_purchase, path="referrals.min_purchase")
        except ValueError as error:
            return [str(error)]
        return []

    def all_rules(self) -> list[tuple[str, EarnRule]]:
        """Every rule with its path: ``earning.rules[i]``, then ``rule_sets[k].rules[i]``."""
        found = [(f"earning.rules[{i}]", rule) for i, rule in enumerate(self.earning.rules)]
        for k, rule_set in enumerate(self.rule_sets):
            found += [(f"rule_sets[{k}].rules[{i}]", rule) for i, rule in enumerate(rule_set.rules)]
        return found

    def _rule_set_problems(self) -> list[str]:
        """Rule ids unique across the program (usage counters are kept by rule id), rule set
        ids unique, and the deferred effects' references and money."""
        problems: list[str] = []
        tier_ids = {level.id for level in self.tiers.levels} if self.tiers else set()
        codes = {reward.code for reward in self.rewards}
        seen = {rule.id for rule in self.earning.rules}
        sets: set[str] = set()
        for k, rule_set in enumerate(self.rule_sets):
            if rule_set.id in sets:
                problems.append(f"rule_sets[{k}].id: rule set id {rule_set.id!r} is used twice")
            sets.add(rule_set.id)
            for i, rule in enumerate(rule_set.rules):
                path = f"rule_sets[{k}].rules[{i}]"
                if rule.id in seen:
                    problems.append(f"{path}.id: rule id {rule.id!r} is used twice")
                seen.add(rule.id)
                unknown = set(rule.when.tier_in or ()) - tier_ids
                if unknown:
                    problems.append(f"{path}.when.tier_in: names unknown tiers {sorted(unknown)}")
        for i, rule in enumerate(self.earning.rules):
            refused = trigger_problems(rule, Trigger.PURCHASE)
            problems += [f"earning.rules[{i}].{problem}" for problem in refused]
        for path, rule in self.all_rules():
            for j, deferred in enumerate(rule.deferred):
                here = f"{path}.deferred[{j}]"
                if deferred.issue_reward and deferred.issue_reward.reward not in codes:
                    reward = deferred.issue_reward.reward
                    problems.append(f"{here}.issue_reward.reward: {reward!r} is not a reward code")
                if deferred.credit_wallet and deferred.credit_wallet.amount is not None:
                    try:
                        self.minor(
                            deferred.credit_wallet.amount, path=f"{here}.credit_wallet.amount"
                        )
                    except ValueError as error:
                        problems.append(str(error))
        return problems

    def _money_place_problems(self) -> list[str]:
        amounts: list[tuple[str, Decimal | None]] = [
            ("earning.base.per_amount", self.earning.base.per_amount)
        ]
        for index, rule in enumerate(self.earning.rules):
            amounts.append(
                (f"earning.rules[{index}].when.order_total_gte", rule.when.order_total_gte)
            )
            amounts.append(
                (f"earning.rules[{index}].when.order_total_lt", rule.when.order_total_lt)
            )
        for index, reward in enumerate(self.rewards):
            if reward.kind in MONEY_VALUED:
                amounts.append((f"rewards[{index}].value", reward.value))
        amounts.append(("limits.max_purchase_total", self.limits.max_purchase_total))
        if self.tiers and self.tiers.qualify_on is QualifyOn.MONEY_SPENT:
            for index, level in enumerate(self.tiers.levels):
                amounts.append((f"tiers.levels[{index}].threshold", level.threshold))
        problems: list[str] = []
        for path, amount in amounts:
            if amount is not None:
                try:
                    self.minor(amount, path=path)
                except ValueError as error:
                    problems.append(str(error))
        return problems

    @property
    def currency(self) -> str:
        return self.program.currency

    def minor(self, amount: Decimal, *, path: str = "amount") -> int:
        """A money amount of this program in integer minor units (exact, or a ValueError)."""
        scaled = amount.scaleb(money.exponent(self.currency))
        if scaled != scaled.to_integral_value():
            places = money.exponent(self.currency)
            raise ValueError(f"{path}: has more than {places} decimal places for {self.currency}")
        return int(scaled)

    def campaign(self, key: str) -> Campaign | None:
        return next((campaign for campaign in self.campaigns if campaign.key == key), None)

    def partner(self, partner_id: str) -> Partner | None:
        return next((partner for partner in self.partners if partner.id == partner_id), None)

    def challenge(self, key: str) -> Challenge | None:
        return next((challenge for challenge in self.challenges if challenge.key == key), None)

    def reward(self, code: str) -> Reward | None:
        return next((reward for reward in self.rewards if reward.code == code), None)

    def message(self, message_id: str) -> MessageTemplate | None:
        return next((message for message in self.messages if message.id == message_id), None)

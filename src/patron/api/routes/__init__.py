"""All API routers, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from patron.api.routes import (
    analytics,
    audit,
    campaigns,
    checkout,
    events,
    feedback,
    insights,
    keys,
    members,
    messages,
    partners,
    products,
    programs,
    purchases,
    referrals,
    reviews,
    rewards,
    surveys,
    tickets,
    wallet,
    webhooks,
)

ROUTERS: list[APIRouter] = [
    members.router,
    wallet.router,
    purchases.router,
    rewards.router,
    checkout.router,
    programs.router,
    products.router,
    campaigns.router,
    referrals.router,
    partners.router,
    tickets.router,
    insights.router,
    analytics.router,
    surveys.router,
    reviews.router,
    feedback.router,
    audit.router,
    keys.router,
    events.router,
    webhooks.router,
    messages.router,
]

"""All API routers, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from patron.api.routes import (
    checkout,
    feedback,
    members,
    programs,
    purchases,
    reviews,
    rewards,
    surveys,
)

ROUTERS: list[APIRouter] = [
    members.router,
    purchases.router,
    rewards.router,
    checkout.router,
    programs.router,
    surveys.router,
    reviews.router,
    feedback.router,
]

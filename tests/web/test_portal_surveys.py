"""The portal's open surveys and refer-a-friend page over HTTP: a member answers a pending
survey without its link and earns its points once (answering again, by the portal or by the
link, credits nothing more; a second invitation to the same survey earns nothing), a form at
fault changes nothing, another member's invitation is unknown; the referral page shows the
member's code, link, share buttons and funnel. On both databases."""

from __future__ import annotations

import re
from contextlib import aclosing

from sqlalchemy import func, select

from patron.feedback import schemas as feedback_schemas
from patron.feedback import service as feedback_service
from patron.feedback.models import SurveyResponse
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.programs.service import get_active_program
from patron.referrals import service as referral_service
from patron.referrals.models import ReferralStatus
from patron.web.routes.portal_referral import funnel
from tests.web.conftest import Console
from tests.web.test_portal import _member, _portal, _text

RECOMMEND = {"en": "Would you recommend us?", "ru": "Порекомендуете нас?"}
QUESTIONS = [
    {"id": "nps", "kind": "nps", "text": RECOMMEND},
    {"id": "why", "kind": "text", "text": {"en": "Why?"}, "required": False},
]  # fmt: skip


async def _survey(console: Console, key: str, points: int) -> None:
    definition = feedback_schemas.SurveyCreate.model_validate(
        {"key": key, "name": f"Survey {key}", "questions": QUESTIONS, "points": points}
    )
    async with console.database.write() as session:
        await feedback_service.create_survey(session, data=definition, now=utcnow())


async def _invite(console: Console, key: str, member_id: int, ref: str) -> tuple[int, str]:
    request = feedback_schemas.InvitationRequest(member_ids=[member_id], source_ref=ref)
    async with console.database.write() as session:
        batch = await feedback_service.invite_members(
            session, survey_key=key, request=request, now=utcnow()
        )
    invitation = batch.invitations[0]
    return invitation.id, invitation.token


async def _available(console: Console, member_id: int) -> int:
    async with console.database.read() as session:
        return (await ledger_service.balance(session, member_id=member_id, now=utcnow())).available


async def _responses(console: Console, member_id: int) -> int:
    async with console.database.read() as session:
        query = select(func.count()).where(SurveyResponse.member_id == member_id)
        return int((await session.execute(query.select_from(SurveyResponse))).scalar())


async def test_a_survey_answered_in_the_portal_credits_its_points_once(console: Console) -> None:
    member_id = await _member(console, "S-1", "Sofia", 0)
    await _survey(console, "visit", 40)
    first, token = await _invite(console, "visit", member_id, "march")
    second, _ = await _invite(console, "visit", member_id, "april")
    client, csrf = await _portal(console, member_id)
    async with aclosing(client):
        listed = _text((await client.get("/portal/surveys?lang=en")).text)
        assert "Survey visit" in listed
        assert listed.count("earns 40 points") == 2
        assert f'href="/portal/surveys/{first}"' in listed
        assert token not in listed  # the address names the invitation, never its token
        form = await client.get(f"/portal/surveys/{first}?lang=en")
        assert form.status_code == 200
        assert "Would you recommend us?" in form.text
        assert "not at all likely" in form.text
        # a form at fault: shown again with the problem, nothing stored
        bad = await client.post(f"/portal/surveys/{first}", data={"csrf_token": csrf, "nps": "11"})
        assert bad.status_code == 422
        assert "Please check the marked answer." in bad.text
        # without the session's CSRF token: refused, nothing stored
        forged = await client.post(f"/portal/surveys/{first}", data={"nps": "9"})
        assert forged.status_code == 403
        assert await _responses(console, member_id) == 0
        done = await client.post(
            f"/portal/surveys/{first}", data={"csrf_token": csrf, "nps": "9", "why": "Quick"}
        )
        assert done.status_code == 200
        assert "40 points have been added to your account." in _text(done.text)
        assert await _available(console, member_id) == 40
        again = await client.post(f"/portal/surveys/{first}", data={"csrf_token": csrf, "nps": "3"})
        assert again.status_code == 409
        assert "You have answered this survey already." in again.text
        # the link of the same invitation is used up too
        link = await client.get(f"/s/{token}")
        assert link.status_code == 409
        # the second invitation to the survey: listed without points, answered for none
        listed = _text((await client.get("/portal/surveys?lang=en")).text)
        assert f'href="/portal/surveys/{first}"' not in listed
        assert f'href="/portal/surveys/{second}"' in listed
        assert "earns" not in listed
        other = await client.post(
            f"/portal/surveys/{second}", data={"csrf_token": csrf, "nps": "10"}
        )
        assert other.status_code == 200
        assert "have been added" not in other.text
        empty = await client.get("/portal/surveys?lang=ru")
        assert "Сейчас для вас нет опросов." in empty.text
    assert await _available(console, member_id) == 40
    assert await _responses(console, member_id) == 2


async def test_another_members_invitation_is_unknown(console: Console) -> None:
    owner = await _member(console, "S-2", "Olga", 0)
    other = await _member(console, "S-3", "Piotr", 0)
    await _survey(console, "shop", 10)
    invitation, _ = await _invite(console, "shop", owner, "may")
    client, csrf = await _portal(console, other)
    async with aclosing(client):
        assert f"/portal/surveys/{invitation}" not in (await client.get("/portal/surveys")).text
        seen = await client.get(f"/portal/surveys/{invitation}")
        assert seen.status_code == 404
        posted = await client.post(
            f"/portal/surveys/{invitation}", data={"csrf_token": csrf, "nps": "10"}
        )
        assert posted.status_code == 404
        assert (await client.get("/portal/surveys/999999")).status_code == 404
    assert await _responses(console, owner) == await _responses(console, other) == 0
    assert await _available(console, owner) == 0


def test_the_funnel_counts_each_step() -> None:
    counts = {"pending": 2, "qualified": 1, "rewarded": 3, "flagged": 1, "rejected": 1}
    assert funnel(counts) == {
        "joined": 8, "qualified": 4, "rewarded": 3, "review": 1, "refused": 1,
    }  # fmt: skip
    assert funnel({}) == {"joined": 0, "qualified": 0, "rewarded": 0, "review": 0, "refused": 0}


async def test_the_referral_page_shows_the_code_link_share_and_funnel(console: Console) -> None:
    referrer = await _member(console, "R-1", "Rita", 0)
    friends = [await _member(console, f"R-F{n}", f"Friend {n}", 0) for n in range(3)]
    async with console.database.write() as session:
        active = await get_active_program(session)
        mine = await referral_service.member_referral(session, active=active, member_id=referrer)
        assert mine is not None
        holder = await referral_service.find_referrer(
            session, program_id=active.program_id, code=mine.code.lower()
        )
        for friend in friends:
            await referral_service.attach(
                session, active=active, referrer=holder, referee_id=friend, replayed=False,
                now=utcnow(),
            )  # fmt: skip
    async with console.database.read() as session:
        active = await get_active_program(session)
        mine = await referral_service.member_referral(session, active=active, member_id=referrer)
    assert mine is not None
    assert mine.referrals[ReferralStatus.PENDING.value] == 3
    client, _ = await _portal(console, referrer)
    async with aclosing(client):
        page = await client.get("/portal/referral?lang=en")
        assert page.status_code == 200
        text = _text(page.text)
        assert f'<strong id="referral-code">{mine.code}</strong>' in text
        assert f'value="{mine.link}"' in text
        assert 'src="/static/web/share.js"' in text
        assert "data-share-button hidden" in text  # shown by the script when it can share
        joined = re.search(r"Joined with your code</dt><dd>(\d+)</dd>", text)
        assert joined is not None
        assert joined.group(1) == "3"
        assert re.search(r"Rewarded</dt><dd>0</dd>", text)
        polish = await client.get("/portal/referral?lang=pl")
        assert "Dołączyli z Twoim kodem" in polish.text
        script = await client.get("/static/web/share.js")
        assert script.status_code == 200
        assert "navigator.share" in script.text
    # another member's page shows their own code only
    other, _ = await _portal(console, friends[0])
    async with aclosing(other):
        assert mine.code not in (await other.get("/portal/referral")).text

"""Refer-a-friend: a member's code and link, referrals made at enrolment, their abuse checks,
review, qualification and the reward of both sides (docs/campaigns.md, "Referrals")."""

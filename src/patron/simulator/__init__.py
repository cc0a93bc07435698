"""The program simulator: replay a purchase history under a proposed program and report what
it would cost (``patron simulate``; the method is in ``docs/simulator.md``).

Read-only: it reads a history file or the purchases of the database, scores them with the
vectorised rules engine (:func:`patron.rules.vectorised.score_frame`), walks the tiers in
time order and derives balances, expiry, expected redemptions and liability per month.
"""

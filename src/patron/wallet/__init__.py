"""The cashback wallet (issue 12, part 5): money per member in the program's currency.

``models`` (the cached balance and the append-only entries), ``repository`` (every query and
lock), ``service`` (credit, spend, reverse, read), ``verify`` (its invariants, run by
``patron verify``), ``events`` (``wallet.credited``, ``wallet.debited``).
"""

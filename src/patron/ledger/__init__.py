"""Points ledger: accounts, entries, lots; see :mod:`patron.ledger.lots` for the definitions."""

"""The bulk import of purchases (``patron import purchases FILE``).

The pipeline, one module each:

- :mod:`~patron.purchases.bulk.source` reads a CSV or Parquet file of purchase lines into
  text columns; :mod:`~patron.purchases.bulk.validate` checks every row (vectorised) and
  groups the rows into purchases in time order;
- :mod:`~patron.purchases.bulk.service` loads the file in batches, one unit of work each:
  :mod:`~patron.purchases.bulk.state` reads what the rules need (members, tiers, accounts,
  rule usage, purchases already recorded), :mod:`~patron.purchases.bulk.plan` scores the
  batch with :func:`patron.rules.vectorised.score_frame` (tier upgrades inside the batch by
  :mod:`~patron.purchases.bulk.tiers`, the breakdown by :mod:`~patron.purchases.bulk.trace`)
  and turns it into rows, and :mod:`~patron.purchases.bulk.writers` writes them with the raw
  driver (SQLite ``executemany``, PostgreSQL ``COPY``);
- members for whom that cannot be exact are replayed through
  :func:`patron.purchases.earn.record_purchase` (:mod:`~patron.purchases.bulk.replay`).

Every purchase ends up exactly as ``record_purchase`` would have recorded it, the file's
purchases taken one by one in time order (``occurred_at``, then ``external_id``) with ``now``
the time of the import.
"""

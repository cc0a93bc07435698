"""Loyalty KPIs: program, customers, members versus non-members, before/after, per group.

Pure functions over Polars frames (``inputs``, ``sales``, ``retention``, ``points``,
``breakdown``, ``report``), a read-only loader (``repository``) and the use case
(``service.kpi_report``). Definitions and sources: ``docs/metrics.md``, section KPIs.
"""

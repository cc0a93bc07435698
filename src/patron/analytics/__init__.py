"""Analytics: read-only models over purchase history (customer lifetime value, churn risk).

Analytics never write to the transactional tables; they read purchase logs (Polars over SQL or
Parquet exports) and return plain results for the CLI, the admin console and segments.
"""

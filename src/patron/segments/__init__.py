"""Segments: RFM scores and named segments, behavioural groups and churn risk, stored per
member so that campaigns and notifications can select members by them (`docs/segments.md`)."""

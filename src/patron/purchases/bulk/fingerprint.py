"""The request fingerprint of imported purchases, vectorised.

:meth:`PurchaseCreate.fingerprint` hashes the canonical JSON of the request body (keys
sorted, no spaces, UTF-8 kept). An imported purchase is the body the shop would have sent
with ``member_external_id`` (``member_id`` null), its amounts as written in the file, a
missing shipping as ``"0"`` and a line's ``discount`` only where one is given, so a purchase
posted to the API and the same purchase imported get the same fingerprint: importing it
again is recognised as the same purchase.

JSON strings are built here by escaping ``\\`` and ``"``; a purchase with a control
character in one of its texts is serialised by :mod:`json` instead (the rare slow path).
"""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl

from patron.purchases.schemas import fingerprint

_CONTROL = r"[\x00-\x1f]"
_PURCHASE_TEXTS = ("channel", "currency", "external_id", "member_external_id", "store")
_LINE_TEXTS = ("category", "sku")


def _json_text(column: str) -> pl.Expr:
    escaped = pl.col(column).str.replace_all("\\", "\\\\", literal=True)
    escaped = escaped.str.replace_all('"', '\\"', literal=True)
    return (
        pl.when(pl.col(column).is_null())
        .then(pl.lit("null"))
        .otherwise(pl.concat_str(pl.lit('"'), escaped, pl.lit('"')))
    )


def _instant_text() -> pl.Expr:
    """As pydantic writes a UTC datetime: ``2026-12-08T10:00:00Z``, microseconds if any."""
    at = pl.col("at")
    return (
        pl.when(at.dt.microsecond() == 0)
        .then(at.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        .otherwise(at.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    )


def _line_json() -> pl.Expr:
    discount = pl.concat_str(pl.lit(',"discount":'), _json_text("discount"))
    return pl.concat_str(
        pl.lit('{"category":'),
        _json_text("category"),
        pl.when(pl.col("discount").is_null()).then(pl.lit("")).otherwise(discount),
        pl.lit(',"quantity":'),
        pl.col("quantity").cast(pl.String),
        pl.lit(',"sku":'),
        _json_text("sku"),
        pl.lit(',"unit_price":'),
        _json_text("unit_price"),
        pl.lit("}"),
    )


def _purchase_json(lines_json: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        pl.lit('{"channel":'),
        _json_text("channel"),
        pl.lit(',"currency":'),
        _json_text("currency"),
        pl.lit(',"external_id":'),
        _json_text("external_id"),
        pl.lit(',"lines":['),
        lines_json,
        pl.lit('],"member_external_id":'),
        _json_text("member_external_id"),
        pl.lit(',"member_id":null,"occurred_at":"'),
        _instant_text(),
        pl.lit('","shipping":'),
        _json_text("shipping"),
        pl.lit(',"store":'),
        _json_text("store"),
        pl.lit(',"total":'),
        _json_text("total"),
        pl.lit("}"),
    )


def _has_control(columns: tuple[str, ...]) -> pl.Expr:
    return pl.any_horizontal(
        pl.col(name).str.contains(_CONTROL).fill_null(False) for name in columns
    )


def request_body(purchase: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The API body of an imported purchase, as ``PurchaseCreate.model_dump(mode="json")``
    gives it (used for purchases the vectorised path does not serialise)."""
    at = purchase["at"]
    moment = at.strftime("%Y-%m-%dT%H:%M:%S") + (f".{at.microsecond:06d}" if at.microsecond else "")
    return {
        "external_id": purchase["external_id"],
        "member_id": None,
        "member_external_id": purchase["member_external_id"],
        "occurred_at": moment + "Z",
        "currency": purchase["currency"],
        "total": purchase["total"],
        "shipping": purchase["shipping"],
        "lines": [
            {
                "sku": line["sku"],
                "category": line["category"],
                "quantity": line["quantity"],
                "unit_price": line["unit_price"],
                **({} if line.get("discount") is None else {"discount": line["discount"]}),
            }
            for line in lines
        ],
        "channel": purchase["channel"],
        "store": purchase["store"],
    }


def fingerprints(purchases: pl.DataFrame, lines: pl.DataFrame) -> pl.Series:
    """``request_hash`` of each purchase (in the order of ``purchases``, keyed by ``seq``;
    ``lines`` ordered by ``seq`` and ``line_no``)."""
    line_texts = lines.select(
        "seq", _line_json().alias("json"), _has_control(_LINE_TEXTS).alias("control")
    )
    joined = line_texts.group_by("seq", maintain_order=True).agg(
        pl.col("json").str.join(","), pl.col("control").any()
    )
    texts = purchases.join(joined, on="seq", how="left", maintain_order="left").select(
        "seq",
        _purchase_json(pl.col("json")).alias("json"),
        (pl.col("control") | _has_control(_PURCHASE_TEXTS)).alias("control"),
    )
    hashes = [hashlib.sha256(text.encode()).hexdigest() for text in texts["json"].to_list()]
    for position in texts.with_row_index().filter(pl.col("control"))["index"].to_list():
        hashes[position] = _fingerprint_one(purchases.row(position, named=True), lines)
    return pl.Series("request_hash", hashes, dtype=pl.String)


def _fingerprint_one(purchase: dict[str, Any], lines: pl.DataFrame) -> str:
    own = lines.filter(pl.col("seq") == purchase["seq"]).sort("line_no")
    return fingerprint(request_body(purchase, own.to_dicts()))

"""Reading an import file into text columns, one row per purchase line.

The format is chosen by the file's extension: ``.csv`` (UTF-8, comma separated, a header
row), ``.xlsx`` (the first sheet, a header row) or ``.parquet``. :func:`read_table` is the
reader every import shares (the members import too); :func:`read_rows` is the purchases'.
Every column becomes text exactly as written, so that amounts keep the digits the shop sent
(they are part of the purchase's fingerprint): an empty CSV field is a missing value. Parquet
may carry typed columns: numbers become their decimal text (a ``Decimal`` keeps its scale, a
float its shortest form), a ``Datetime`` becomes an ISO 8601 instant (naive values are UTC).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import polars as pl

from patron.purchases.bulk.errors import ImportFileError

ROW = "row"
REQUIRED_COLUMNS = (
    "external_id",
    "member_external_id",
    "occurred_at",
    "currency",
    "total",
    "sku",
    "quantity",
    "unit_price",
)
OPTIONAL_COLUMNS = ("shipping", "channel", "store", "category", "discount")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_INSTANT = "%Y-%m-%dT%H:%M:%S%.6f+00:00"
# what Excel calls the format Patron reads (its Russian and Polish versions save "CSV" with
# semicolons in the Windows code page)
_SAVE_AS = 'save it as "CSV UTF-8 (comma delimited)" or as an .xlsx workbook'


def read_rows(path: Path) -> pl.DataFrame:
    """The file's rows: ``row`` (1-based data row) and every column of :data:`COLUMNS` as
    text (an optional column the file lacks is all missing).

    Raises :class:`ImportFileError` when the file cannot be read, has another extension, or
    its header lacks a required column or names one Patron does not know.
    """
    return read_table(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)


def read_table(
    path: Path,
    required: Sequence[str],
    optional: Sequence[str],
    *,
    extra: Collection[str] = (),
) -> pl.DataFrame:
    """``row`` (1-based data row), then the ``required``, ``optional`` and ``extra`` columns
    as text, in that order. ``extra`` names columns the caller accepts besides the known ones
    (a missing one is all missing, like an optional one); any other column is refused."""
    raw = _read(path)
    known = [*required, *optional]
    _check_header(path, raw.columns, required, [*known, *extra])
    wanted = [*known, *(name for name in extra if name not in known)]
    return raw.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW),
        *(_as_text(raw, name) for name in wanted),
    )


def _read(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False, encoding="utf8")
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix == ".xlsx":
            return pl.read_excel(path, engine="calamine", infer_schema_length=0)
    except pl.exceptions.ComputeError as error:
        if suffix == ".csv" and "utf-8" in str(error).lower():
            raise ImportFileError(
                f"{path.name}: cannot be read: it is not UTF-8 text; {_SAVE_AS}", field="file"
            ) from error
        raise ImportFileError(f"{path.name}: cannot be read: {error}", field="file") from error
    except (OSError, pl.exceptions.PolarsError, ImportError) as error:
        raise ImportFileError(f"{path.name}: cannot be read: {error}", field="file") from error
    raise ImportFileError(
        f"{path.name}: give a .csv, .xlsx or .parquet file, not {suffix or 'no extension'}",
        field="file",
    )


def _check_header(
    path: Path, columns: list[str], required: Sequence[str], allowed: Sequence[str]
) -> None:
    missing = [name for name in required if name not in columns]
    if missing and len(columns) == 1 and ";" in columns[0]:
        raise ImportFileError(
            f"{path.name}: the file is separated by semicolons (;), not commas; {_SAVE_AS}",
            field="file",
        )
    if missing:
        raise ImportFileError(
            f"{path.name}: the header lacks the column(s) {', '.join(missing)}",
            field=missing[0],
            params={"missing": ", ".join(missing)},
        )
    unknown = [name for name in columns if name not in allowed]
    if unknown:
        raise ImportFileError(
            f"{path.name}: unknown column(s) {', '.join(unknown)}; the columns are "
            f"{', '.join(allowed)}",
            field=unknown[0],
            params={"unknown": ", ".join(unknown)},
        )


def _as_text(frame: pl.DataFrame, name: str) -> pl.Expr:
    if name not in frame.columns:
        return pl.lit(None, dtype=pl.String).alias(name)
    dtype = frame.schema[name]
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        moment = (
            column.dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else column.dt.convert_time_zone("UTC")
        )
        return moment.dt.strftime(_INSTANT).alias(name)
    if dtype == pl.String:
        return column
    return column.cast(pl.String).alias(name)

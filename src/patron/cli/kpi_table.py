"""The readable form of ``patron analytics kpis``: rich tables of the KPI report."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _cell(value: Any, *, rate: bool = False) -> str:
    if value is None:
        return "n/a"
    if rate and isinstance(value, float):
        return f"{value * 100:.1f} %"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _money(value: int | float | None, exponent: int) -> str:
    return "n/a" if value is None else f"{value / 10**exponent:,.2f}"


def _pairs(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table


def program_table(report: dict[str, Any], exponent: int) -> Table:
    program, points = report["program"], report["program"]["points"]
    roi = program["return_on_investment"]
    currency = program["currency"]
    return _pairs(
        "Program",
        [
            ("enrolled members", _cell(program["enrolled"])),
            ("active members", _cell(program["active"])),
            ("participation rate", _cell(program["participation_rate"], rate=True)),
            ("points issued", _cell(points["issued"])),
            ("points redeemed", _cell(points["redeemed"])),
            ("points expired", _cell(points["expired"])),
            ("redemption rate", _cell(points["redemption_rate"], rate=True)),
            ("breakage rate", _cell(points["breakage_rate"], rate=True)),
            ("outstanding points", _cell(points["outstanding"])),
            (
                "point value (minor units)",
                f"{_cell(points['point_value'])} ({points['point_value_source']})",
            ),
            ("expected redemption", _cell(points["expected_redemption_rate"], rate=True)),
            (f"liability ({currency})", _money(points["liability"], exponent)),
            (f"reward cost ({currency})", _money(points["reward_cost"], exponent)),
            (f"incremental net sales ({currency})", _money(roi["incremental_net_sales"], exponent)),
            ("ROI", _cell(roi["roi"], rate=True)),
        ],
    )


def sales_table(report: dict[str, Any], exponent: int) -> Table:
    sales = report["customers"]["sales"]
    table = Table(title="Members vs non-members", title_justify="left")
    for name in ("", "members", "non-members", "lift"):
        table.add_column(name, justify="right" if name else "left")
    lift = sales["lift"]
    members, others = sales["members"], sales["non_members"]
    table.add_row("orders", _cell(members["orders"]), _cell(others["orders"]), "")
    table.add_row(
        "net sales",
        _money(members["net_sales"], exponent),
        _money(others["net_sales"], exponent),
        "",
    )
    table.add_row(
        "average order value",
        _money(members["average_order_value"], exponent),
        _money(others["average_order_value"], exponent),
        _cell(lift["average_order_value"], rate=True),
    )
    for key, label in (
        ("purchase_frequency", "purchase frequency"),
        ("repeat_purchase_rate", "repeat-purchase rate"),
    ):
        is_rate = key == "repeat_purchase_rate"
        table.add_row(label, _cell(members[key], rate=is_rate), _cell(others[key], rate=is_rate),
                      _cell(lift[key], rate=True))  # fmt: skip
    return table


def periods_table(report: dict[str, Any]) -> Table:
    table = Table(title="Retention per period (members)", title_justify="left")
    for name in ("period", "customers", "new", "S", "E", "N", "retention", "churn"):
        table.add_column(name, justify="left" if name == "period" else "right")
    for row in report["customers"]["periods"]:
        table.add_row(
            row["period"],
            _cell(row["customers"]),
            _cell(row["first_time_customers"]),
            _cell(row.get("start_customers")),
            _cell(row.get("end_customers")),
            _cell(row.get("acquired_customers")),
            _cell(row.get("retention_rate"), rate=True),
            _cell(row.get("churn_rate"), rate=True),
        )
    return table


def breakdown_table(name: str, rows: list[dict[str, Any]], exponent: int) -> Table:
    table = Table(title=f"By {name}", title_justify="left")
    for column in ("group", "enrolled", "active", "participation", "AOV", "repeat", "issued",
                   "redeemed", "outstanding", "retention"):  # fmt: skip
        table.add_column(column, justify="left" if column == "group" else "right")
    for row in rows:
        table.add_row(
            row["group"],
            _cell(row["enrolled"]),
            _cell(row["active"]),
            _cell(row["participation_rate"], rate=True),
            _money(row["sales"]["average_order_value"], exponent),
            _cell(row["sales"]["repeat_purchase_rate"], rate=True),
            _cell(row["points"]["issued"]),
            _cell(row["points"]["redeemed"]),
            _cell(row["points"]["outstanding"]),
            _cell(row["last_period"]["retention_rate"], rate=True),
        )
    return table


def print_report(report: dict[str, Any], exponent: int, console: Console | None = None) -> None:
    console = console or Console()
    window = report["window"]
    console.print(f"KPIs from {window['from']} to {window['to_exclusive']} (exclusive), "
                  f"per {window['period']}")  # fmt: skip
    console.print(program_table(report, exponent))
    console.print(sales_table(report, exponent))
    console.print(periods_table(report))
    for name, rows in report["breakdown"].items():
        console.print(breakdown_table(name, rows, exponent))
    baseline = report["baseline"]
    if baseline is not None:
        change = baseline["change"]
        console.print(
            _pairs(
                "After vs before (baseline)",
                [(key, _cell(value, rate=True)) for key, value in change.items()],
            )
        )

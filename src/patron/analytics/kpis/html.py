"""The KPI report as one self-contained HTML file with plotly charts.

plotly.js is read from the installed ``plotly`` package and inlined once (never a CDN: the
file opens offline); each chart is a ``Plotly.newPlot`` call with its figure as JSON. Text
from the data (tier and segment names) is escaped.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio


def plotly_js() -> str:
    return (resources.files("plotly") / "package_data" / "plotly.min.js").read_text("utf-8")


def _money(value: float | None, exponent: int) -> float | None:
    return None if value is None else value / 10**exponent


def trends_figure(report: dict[str, Any], exponent: int) -> go.Figure:
    rows = report["customers"]["trends"]
    periods = [row["period"] for row in rows]
    retention = {row["period"]: row.get("retention_rate") for row in report["customers"]["periods"]}
    figure = go.Figure()
    for prefix, name in (("member", "members"), ("non_member", "non-members")):
        values = [_money(row[f"{prefix}_net_sales"], exponent) for row in rows]
        figure.add_bar(x=periods, y=values, name=f"net sales, {name}")
    figure.add_scatter(
        x=periods, y=[retention.get(p) for p in periods], name="retention rate", yaxis="y2"
    )
    figure.update_layout(
        title="Net sales and member retention per period",
        barmode="stack",
        yaxis={"title": "net sales"},
        yaxis2={"title": "retention", "overlaying": "y", "side": "right", "tickformat": ".0%"},
    )
    return figure


def cohort_figure(report: dict[str, Any]) -> go.Figure:
    rows = report["customers"]["cohorts"]
    width = max((len(row["rates"]) for row in rows), default=0)
    z = [row["rates"] + [None] * (width - len(row["rates"])) for row in rows]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"+{k}" for k in range(width)],
            y=[f"{row['cohort']} ({row['size']})" for row in rows],
            colorscale="Blues",
            zmin=0,
            zmax=1,
        )
    )
    figure.update_layout(
        title="Cohort retention by month of first purchase",
        yaxis={"autorange": "reversed"},
        xaxis={"title": "months since the first purchase"},
    )
    return figure


def members_figure(report: dict[str, Any], exponent: int) -> go.Figure:
    sales = report["customers"]["sales"]
    members, others = sales["members"], sales["non_members"]
    figure = go.Figure()
    for name, part in (("members", members), ("non-members", others)):
        figure.add_bar(
            x=["average order value", "orders per customer"],
            y=[_money(part["average_order_value"], exponent), part["purchase_frequency"]],
            name=name,
        )
    figure.update_layout(title="Members versus non-members", barmode="group")
    return figure


def breakdown_figure(name: str, rows: list[dict[str, Any]]) -> go.Figure:
    groups = [row["group"] for row in rows]
    figure = go.Figure()
    figure.add_bar(x=groups, y=[row["enrolled"] for row in rows], name="enrolled")
    figure.add_bar(x=groups, y=[row["active"] for row in rows], name="active")
    figure.update_layout(title=f"Members by {name}", barmode="group")
    return figure


def _facts(report: dict[str, Any], exponent: int) -> list[tuple[str, str]]:
    program, points = report["program"], report["program"]["points"]
    roi = program["return_on_investment"]["roi"]

    def rate(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.1f} %"

    def money(value: float | None) -> str:
        shown = _money(value, exponent)
        return "n/a" if shown is None else f"{shown:,.2f} {program['currency']}"

    return [
        ("enrolled members", f"{program['enrolled']:,}"),
        ("active members", f"{program['active']:,}"),
        ("participation rate", rate(program["participation_rate"])),
        ("points issued", f"{points['issued']:,}"),
        ("points redeemed", f"{points['redeemed']:,}"),
        ("redemption rate", rate(points["redemption_rate"])),
        ("breakage rate", rate(points["breakage_rate"])),
        ("outstanding points", f"{points['outstanding']:,}"),
        ("liability", money(points["liability"])),
        ("reward cost", money(points["reward_cost"])),
        ("ROI", rate(roi)),
    ]


def render_report(report: dict[str, Any], exponent: int) -> str:
    """The whole page: a table of the headline KPIs and the charts."""
    figures = [
        trends_figure(report, exponent),
        cohort_figure(report),
        members_figure(report, exponent),
    ] + [breakdown_figure(name, rows) for name, rows in report["breakdown"].items()]
    charts, calls = [], []
    for index, figure in enumerate(figures):
        charts.append(f'<div id="chart-{index}" class="chart"></div>')
        spec = json.loads(pio.to_json(figure))
        payload = json.dumps(spec).replace("</", "<\\/")
        calls.append(
            f'(function(f){{Plotly.newPlot("chart-{index}", f.data, f.layout, '
            f"{{responsive: true}});}})({payload});"
        )
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in _facts(report, exponent)
    )
    window = report["window"]
    title = f"Loyalty KPIs {window['from']} to {window['to_exclusive']} (exclusive)"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:sans-serif;margin:1em auto;max-width:70em}"
        "table{border-collapse:collapse}th,td{padding:.2em .8em;text-align:left}"
        ".chart{height:28em}</style>"
        f"<script>{plotly_js()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1><table>{rows}</table>{''.join(charts)}"
        f"<script>{''.join(calls)}</script></body></html>\n"
    )

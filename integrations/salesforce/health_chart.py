"""The sync-health charts as inline SVG, drawn on the server: no script, no external asset, so
they render under a strict Content-Security-Policy and in the Django admin alike. Numbers are
formatted here; every piece of text goes through escape()."""
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .health import Day


def _day(value, *, year: bool = True) -> str:
    # English like the rest of the UI; strftime costs far less than date_format per label.
    return f"{value.day} {value:%b}" + (f" {value.year}" if year else "")

WIDTH, HEIGHT = 720, 190
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 10, 26
PLOT_H = HEIGHT - TOP - BOTTOM
COLOURS = {"pushed": "#1f7a4d", "skipped": "#9aa3b5", "waiting": "#d19a00", "failed": "#b3261e", "api": "#3454d1"}
STACK = ("pushed", "skipped", "waiting", "failed")
LABEL_EVERY = 5
MUTED, GRID = "#5b6478", "#dfe3ea"


def axis_top(value: float) -> int:
    """The axis' top: four equal round steps (0, 2, 4, 6, 8) that reach at least value."""
    return nice_ceiling(value / 4) * 4


def nice_ceiling(value: float) -> int:
    """The smallest 1/2/5 × 10ⁿ at or above value (at least 1): round axis labels."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _slot(count: int) -> float:
    return (WIDTH - LEFT - RIGHT) / count


def _x(i: int, count: int) -> float:
    return LEFT + i * _slot(count) + _slot(count) * 0.14


def _bar_width(count: int) -> float:
    return _slot(count) * 0.72


def _frame(*, chart_id: str, title: str, desc: str, top: int, days: list[Day], body: list[str]) -> SafeString:
    parts = []
    for i in range(5):
        y = TOP + PLOT_H - PLOT_H * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 6}" y="{y + 3:.1f}" text-anchor="end" font-size="10" fill="{MUTED}">{top * i / 4:,.0f}</text>'
        )
    parts.extend(body)
    for i, day in enumerate(days):
        if i % LABEL_EVERY == 0 or i == len(days) - 1:
            x = _x(i, len(days)) + _bar_width(len(days)) / 2
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="10" fill="{MUTED}">{escape(_day(day.day, year=False))}</text>')
    svg = (
        f'<svg id="{chart_id}" class="sf-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        + "".join(parts) + "</svg>"
    )
    return mark_safe(svg)  # nosec B308, B703  # numbers formatted here, every text escaped


def operations_chart(days: list[Day]) -> SafeString:
    """Stacked bars per day: pushed, skipped, waiting, failed."""
    top = axis_top(max((d.total for d in days), default=0))
    bars = []
    for i, day in enumerate(days):
        y = TOP + PLOT_H
        tip = f"{_day(day.day)}: " + ", ".join(f"{getattr(day, s):,} {s}" for s in STACK)
        rects = []
        for series in STACK:
            h = PLOT_H * getattr(day, series) / top
            if h > 0:
                y -= h
                rects.append(
                    f'<rect x="{_x(i, len(days)):.1f}" y="{y:.1f}" width="{_bar_width(len(days)):.1f}" height="{h:.1f}" '
                    f'fill="{COLOURS[series]}" data-series="{series}"/>'
                )
        bars.append(f'<g data-day="{day.day.isoformat()}"><title>{escape(tip)}</title>{"".join(rects)}</g>')
    totals = ", ".join(f"{sum(getattr(d, s) for d in days):,} {s}" for s in STACK)
    desc = f"{sum(d.total for d in days):,} operations in {len(days)} days: {totals}."
    return _frame(chart_id="sf-chart-operations", title="Operations per day", desc=desc, top=top, days=days, body=bars)


def api_calls_chart(days: list[Day], allotment: int | None) -> tuple[SafeString, bool]:
    """Bars of Workestra's API calls per day and a dashed line at the org's daily allotment.
    When the allotment dwarfs the calls (the usual case) the axis follows the calls so the bars
    stay readable; the second value says whether the allotment line is on the chart."""
    busiest = max((d.api_calls for d in days), default=0)
    shows_allotment = bool(allotment) and allotment <= max(busiest, 1) * 4
    top = axis_top(max(busiest, allotment if shows_allotment else 0))
    parts = []
    for i, day in enumerate(days):
        h = PLOT_H * day.api_calls / top
        tip = f"{_day(day.day)}: {day.api_calls:,.0f} API calls"
        parts.append(
            f'<rect x="{_x(i, len(days)):.1f}" y="{TOP + PLOT_H - h:.1f}" width="{_bar_width(len(days)):.1f}" height="{h:.1f}" '
            f'fill="{COLOURS["api"]}" data-day="{day.day.isoformat()}"><title>{escape(tip)}</title></rect>'
        )
    if shows_allotment:
        y = TOP + PLOT_H - PLOT_H * allotment / top
        parts.append(
            f'<line id="sf-allotment" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b3261e" stroke-dasharray="5 4"/>'
            f'<text x="{WIDTH - RIGHT}" y="{y - 4:.1f}" text-anchor="end" font-size="10" fill="#b3261e">daily allotment {allotment:,}</text>'
        )
    desc = f"{sum(d.api_calls for d in days):,.0f} API calls in {len(days)} days; the busiest day {busiest:,.0f}."
    if allotment:
        desc += f" The org's daily allotment is {allotment:,}."
    chart = _frame(chart_id="sf-chart-api", title="API calls per day", desc=desc, top=top, days=days, body=parts)
    return chart, shows_allotment

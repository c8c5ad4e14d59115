"""The sync-health charts as inline SVG, drawn on the server: no script, no external asset, so
they render under a strict Content-Security-Policy and in the Django admin alike. Every piece
goes through format_html: numbers are formatted first, text is escaped."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .health import Day

WIDTH, HEIGHT = 720, 190
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 10, 26
PLOT_H = HEIGHT - TOP - BOTTOM
COLOURS = {"pushed": "#1f7a4d", "skipped": "#9aa3b5", "waiting": "#d19a00", "failed": "#b3261e", "api": "#3454d1"}
STACK = ("pushed", "skipped", "waiting", "failed")
LABEL_EVERY = 5
MUTED, GRID, ALERT = "#5b6478", "#dfe3ea", "#b3261e"


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


def _day(value, *, year: bool = True) -> str:
    # English like the rest of the UI; strftime costs far less than date_format per label.
    return f"{value.day} {value:%b}" + (f" {value.year}" if year else "")


def _n(value: float) -> str:
    return f"{value:.1f}"


def _slot(count: int) -> float:
    return (WIDTH - LEFT - RIGHT) / count


def _x(i: int, count: int) -> float:
    return LEFT + i * _slot(count) + _slot(count) * 0.14


def _bar_width(count: int) -> float:
    return _slot(count) * 0.72


def _join(parts) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def _frame(*, chart_id: str, title: str, desc: str, top: int, days: list[Day], body: list) -> SafeString:
    grid = []
    for i in range(5):
        y = TOP + PLOT_H - PLOT_H * i / 4
        grid.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}"/>'
                '<text x="{}" y="{}" text-anchor="end" font-size="10" fill="{}">{}</text>',
                LEFT,
                WIDTH - RIGHT,
                _n(y),
                _n(y),
                GRID,
                LEFT - 6,
                _n(y + 3),
                MUTED,
                f"{top * i / 4:,.0f}",
            )
        )
    labels = [
        format_html(
            '<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="{}">{}</text>',
            _n(_x(i, len(days)) + _bar_width(len(days)) / 2),
            HEIGHT - 8,
            MUTED,
            _day(day.day, year=False),
        )
        for i, day in enumerate(days)
        if i % LABEL_EVERY == 0 or i == len(days) - 1
    ]
    return format_html(
        '<svg id="{}" class="sf-chart" viewBox="0 0 {} {}" width="100%" role="img" aria-labelledby="{}-title {}-desc" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}{}{}</svg>',
        chart_id,
        WIDTH,
        HEIGHT,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        desc,
        _join(grid),
        _join(body),
        _join(labels),
    )


def operations_chart(days: list[Day]) -> SafeString:
    """Stacked bars per day: pushed, skipped, waiting, failed."""
    top = axis_top(max((d.total for d in days), default=0))
    bars = []
    for i, day in enumerate(days):
        y = TOP + PLOT_H
        rects = []
        for series in STACK:
            h = PLOT_H * getattr(day, series) / top
            if h > 0:
                y -= h
                rects.append(
                    format_html(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" data-series="{}"/>',
                        _n(_x(i, len(days))),
                        _n(y),
                        _n(_bar_width(len(days))),
                        _n(h),
                        COLOURS[series],
                        series,
                    )
                )
        tip = f"{_day(day.day)}: " + ", ".join(f"{getattr(day, s):,} {s}" for s in STACK)
        bars.append(format_html('<g data-day="{}"><title>{}</title>{}</g>', day.day.isoformat(), tip, _join(rects)))
    totals = ", ".join(f"{sum(getattr(d, s) for d in days):,} {s}" for s in STACK)
    desc = f"{sum(d.total for d in days):,} operations in {len(days)} days: {totals}."
    return _frame(chart_id="sf-chart-operations", title="Operations per day", desc=desc, top=top, days=days, body=bars)


def api_calls_chart(days: list[Day], allotment: int | None) -> tuple[SafeString, bool]:
    """Bars of Workestra's API calls per day and a dashed line at the org's daily allotment.
    When the allotment dwarfs the calls (the usual case) the axis follows the calls so the bars
    stay readable; the second value says whether the allotment line is on the chart."""
    busiest = max((d.api_calls for d in days), default=0)
    line_at = allotment if allotment and allotment <= max(busiest, 1) * 4 else 0  # 0: no line
    shows_allotment = bool(line_at)
    top = axis_top(max(busiest, line_at))
    parts = []
    for i, day in enumerate(days):
        h = PLOT_H * day.api_calls / top
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" data-day="{}"><title>{}</title></rect>',
                _n(_x(i, len(days))),
                _n(TOP + PLOT_H - h),
                _n(_bar_width(len(days))),
                _n(h),
                COLOURS["api"],
                day.day.isoformat(),
                f"{_day(day.day)}: {day.api_calls:,.0f} API calls",
            )
        )
    if shows_allotment:
        y = TOP + PLOT_H - PLOT_H * line_at / top
        parts.append(
            format_html(
                '<line id="sf-allotment" x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-dasharray="5 4"/>'
                '<text x="{}" y="{}" text-anchor="end" font-size="10" fill="{}">daily allotment {}</text>',
                LEFT,
                WIDTH - RIGHT,
                _n(y),
                _n(y),
                ALERT,
                WIDTH - RIGHT,
                _n(y - 4),
                ALERT,
                f"{line_at:,}",
            )
        )
    desc = f"{sum(d.api_calls for d in days):,.0f} API calls in {len(days)} days; the busiest day {busiest:,.0f}."
    if allotment:
        desc += f" The org's daily allotment is {allotment:,}."
    chart = _frame(chart_id="sf-chart-api", title="API calls per day", desc=desc, top=top, days=days, body=parts)
    return chart, shows_allotment

"""Charts drawn as SVG on the server: no JavaScript, no CDN, nothing fetched by the page.

Each chart is ``<svg role="img">`` with a ``<title>`` and ``<desc>`` (read by screen
readers), a ``<title>`` per mark (a tooltip), and ``data-value`` / ``data-label`` on each
mark, so a test can read what was drawn. Every chart has a table beside it with the same
numbers (``service.reports.dashboard``). Text is escaped: labels are ids from the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

INK = "#0b0c0c"
GRID = "#b1b4b6"
BAR = "#1d70b8"
HIGHLIGHT = "#003078"
LINE = "#d4351c"
ACCEPTED = "#1d70b8"
UNANSWERED = "#505a5f"  # 7:1 on white (WCAG 1.4.11 asks 3:1 for graphics)
THRESHOLD = "#d4351c"
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True, slots=True)
class Svg:
    id: str
    title: str
    desc: str

    def open(self, width: int, height: int) -> str:
        return (
            f'<svg id="{escape(self.id)}" class="chart" role="img" '
            f'aria-labelledby="{escape(self.id)}-t {escape(self.id)}-d" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'xmlns="http://www.w3.org/2000/svg" {FONT}>'
            f'<title id="{escape(self.id)}-t">{escape(self.title)}</title>'
            f'<desc id="{escape(self.id)}-d">{escape(self.desc)}</desc>'
        )


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10ⁿ)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return m * step
    return 10 * step  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


#: The server cannot measure text, so a label's width is estimated: at most this many pixels
#: a character at font-size 12 (system-ui digits and lower case are narrower; a few wide
#: capitals are not).
_CHAR_PX = 7.0
#: The label column of a horizontal bar chart: as wide as the longest label, within these.
_MIN_LABEL_PX, _MAX_LABEL_PX = 48, 224


def _abbreviate(label: str, chars: int) -> str:
    """``label`` in at most ``chars`` characters: its start and end around an ellipsis (an
    organisation's id differs at either end: a host, or a code after a path). A URL's
    scheme goes first: it tells one organisation from another least."""
    if len(label) <= chars:
        return label
    label = label.removeprefix("https://").removeprefix("http://")
    if len(label) <= chars:
        return label
    tail = (chars - 1) // 2
    return label[: chars - 1 - tail] + "…" + label[len(label) - tail :]


def _label_column(labels: Sequence[str]) -> tuple[int, list[str]]:
    """The x where the bars start and each label as drawn: the column fits the longest label
    up to a cap, and a longer label is abbreviated (the full one is its tooltip, and in the
    table below the chart)."""
    longest = max((len(label) for label in labels), default=0)
    column = min(_MAX_LABEL_PX, max(_MIN_LABEL_PX, round(longest * _CHAR_PX)))
    fits = int(column // _CHAR_PX)
    return column + 16, [_abbreviate(label, fits) for label in labels]


def _row_label(x: float, y: float, full: str, shown: str) -> str:
    """A label right-aligned at ``x``; its tooltip (and ``data-label``) the full name."""
    return (
        f'<text class="label" x="{x:.1f}" y="{y:.1f}" text-anchor="end" fill="{INK}" '
        f'data-label="{escape(full)}"><title>{escape(full)}</title>{escape(shown)}</text>'
    )


def fires_and_override_rate(
    svg: Svg, labels: Sequence[str], fired: Sequence[int], rate: Sequence[float | None]
) -> str:
    """Bars: warnings fired per period (left axis); dots joined by a line: the share of
    them overridden (right axis, 0-100%; no dot where nothing fired)."""
    width, height, left, right, top, bottom = 560, 200, 44, 48, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = _nice_max(max(fired, default=0))
    slot = plot_w / max(1, len(labels))
    out = [svg.open(width, height)]
    out += _count_axis(left, top, plot_w, plot_h, y_max)
    for pct in (0, 50, 100):
        y = top + plot_h - plot_h * pct / 100
        out.append(f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" fill="{LINE}">{pct}%</text>')
    points = []
    for i, (label, n, r) in enumerate(zip(labels, fired, rate, strict=True)):
        x = left + slot * i
        h = plot_h * n / y_max
        out.append(
            f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{BAR}" '
            f'data-label="{escape(label)}" data-value="{n}">'
            f"<title>{escape(label)}: {n} fired</title></rect>"
            f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'fill="{INK}">{escape(label)}</text>'
        )
        if r is not None:
            cx, cy = x + slot / 2, top + plot_h - plot_h * r
            points.append(f"{cx:.1f},{cy:.1f}")
            out.append(
                f'<circle class="rate" cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{LINE}" '
                f'data-label="{escape(label)}" data-value="{r:.4f}">'
                f"<title>{escape(label)}: {r * 100:.0f}% overridden</title></circle>"
            )
    if len(points) > 1:
        out.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" stroke-width="2"/>'
        )
    out.append(
        f'<text x="{left}" y="{height - 6}" fill="{BAR}">■ warnings fired</text>'
        f'<text x="{left + 130}" y="{height - 6}" fill="{LINE}">● % overridden</text></svg>'
    )
    return "".join(out)


def ranked_bars(
    svg: Svg,
    labels: Sequence[str],
    values: Sequence[float],
    notes: Sequence[str] | None = None,
    unit: str = "%",
) -> str:
    """Horizontal bars, largest first (CROP's ranked comparison of practices); ``notes``
    follow each value (e.g. the change since the previous period)."""
    order = sorted(range(len(labels)), key=lambda i: (-values[i], labels[i]))
    notes = notes or [""] * len(labels)
    left, shown = _label_column(labels)
    row, right, top = 26, 130, 8
    width = 560
    height = top * 2 + row * max(1, len(labels))
    plot_w = width - left - right
    x_max = _nice_max(max(values, default=0))
    out = [svg.open(width, height)]
    for rank, i in enumerate(order):
        y = top + rank * row
        w = plot_w * values[i] / x_max
        out.append(
            _row_label(left - 8, y + row / 2 + 4, labels[i], shown[i])
            + f'<rect class="bar" x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{BAR}" data-label="{escape(labels[i])}" data-value="{values[i]:.4f}">'
            f"<title>{escape(labels[i])}: {_fmt(values[i])}{unit}</title></rect>"
            f'<text x="{left + w + 6:.1f}" y="{y + row / 2 + 4:.1f}" fill="{INK}">'
            f"{_fmt(values[i])}{unit} {escape(notes[i])}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def histogram(
    svg: Svg,
    edges: Sequence[tuple[float, float | None]],
    counts: Sequence[int],
    threshold: float,
) -> str:
    """Patients per OME band; a vertical line marks the high-dose threshold."""
    width, height, left, right, top, bottom = 640, 240, 44, 16, 20, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = _nice_max(max(counts, default=0))
    slot = plot_w / max(1, len(counts))
    out = [svg.open(width, height)]
    out += _count_axis(left, top, plot_w, plot_h, y_max)
    label_every = max(1, len(counts) // 8)
    axis_y = height - bottom + 16
    for i, ((lo, hi), n) in enumerate(zip(edges, counts, strict=True)):
        x = left + slot * i
        h = plot_h * n / y_max
        band = f"{_fmt(lo)}–{_fmt(hi)}" if hi is not None else f"{_fmt(lo)}+"
        at_or_above = lo >= threshold
        out.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(1.0, slot - 2):.1f}" height="{h:.1f}" '
            f'fill="{HIGHLIGHT if at_or_above else BAR}" '
            f'data-label="{band}" data-value="{n}">'
            f"<title>{band} mg OME/day: {n} patients</title></rect>"
        )
        if hi is None:  # the open-ended top band is named in its middle: "300+"
            out.append(
                f'<text class="tick" x="{x + slot / 2:.1f}" y="{axis_y}" text-anchor="middle" '
                f'fill="{INK}" data-value="{_fmt(lo)}">{band}</text>'
            )
        elif i % label_every == 0:  # a value on its band's left edge, centred on it
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
                f'stroke="{INK}"/><text class="tick" x="{x:.1f}" y="{axis_y}" '
                f'text-anchor="middle" fill="{INK}" data-value="{_fmt(lo)}">{_fmt(lo)}</text>'
            )
    tx = _value_x(threshold, edges, left, slot)
    out.append(
        f'<line class="threshold" x1="{tx:.1f}" x2="{tx:.1f}" y1="{top - 8}" '
        f'y2="{top + plot_h}" stroke="{THRESHOLD}" stroke-width="2" stroke-dasharray="6 3" '
        f'data-value="{threshold}"/>'
        f'<text x="{tx + 4:.1f}" y="{top - 8 + 10}" fill="{THRESHOLD}">'
        f"threshold {_fmt(threshold)}</text>"
        f'<text x="{left}" y="{height - 6}" fill="{INK}">mg OME/day (highest known total '
        "in a flagged call)</text></svg>"
    )
    return "".join(out)


def _value_x(
    value: float, edges: Sequence[tuple[float, float | None]], left: float, slot: float
) -> float:
    """Where ``value`` is on a histogram's x axis: within its band in proportion (on a
    band's edge, at that edge, so a line there meets the edge's tick), the start of the
    open-ended top band for anything in it."""
    for i, (lo, hi) in enumerate(edges):
        if hi is None or value < hi:
            within = 0.0 if hi is None else max(0.0, value - lo) / (hi - lo)
            return left + slot * (i + within)
    return left + slot * len(edges)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    colour: str
    values: Sequence[float]


def stacked_bars(svg: Svg, labels: Sequence[str], series: Sequence[Series]) -> str:
    """One horizontal bar per label, its parts (percentages adding up to 100) side by side."""
    left, shown = _label_column(labels)
    row, right, top, legend = 26, 20, 8, 22
    width = 560
    height = top * 2 + row * max(1, len(labels)) + legend
    plot_w = width - left - right
    out = [svg.open(width, height)]
    for r, label in enumerate(labels):
        y = top + r * row
        x = float(left)
        out.append(_row_label(left - 8, y + row / 2 + 4, label, shown[r]))
        for s in series:
            v = s.values[r]
            w = plot_w * v / 100
            out.append(
                f'<rect class="bar part" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" '
                f'height="{row - 8}" fill="{s.colour}" data-label="{escape(label)}" '
                f'data-series="{escape(s.name)}" data-value="{v:.4f}">'
                f"<title>{escape(label)}: {_fmt(v)}% {escape(s.name)}</title></rect>"
            )
            x += w
    x = float(left)
    for s in series:
        out.append(
            f'<rect x="{x:.1f}" y="{height - 16}" width="12" height="12" fill="{s.colour}"/>'
            f'<text x="{x + 16:.1f}" y="{height - 6}" fill="{INK}">{escape(s.name)}</text>'
        )
        x += 20 + 8 * len(s.name)
    out.append("</svg>")
    return "".join(out)


def _count_axis(left: float, top: float, plot_w: float, plot_h: float, y_max: float) -> list[str]:
    """Grid lines and labels at 0, half and the top of a count axis (left side)."""
    out = []
    for tick in (0.0, y_max / 2, y_max):
        y = top + plot_h - plot_h * tick / y_max
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{_fmt(tick)}</text>"
        )
    return out

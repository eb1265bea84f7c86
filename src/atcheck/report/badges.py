"""SVG badges, one per target: the share of its judged MUST requirements that passed.

A project README or a compliance site shows a badge as an image; it must not fetch anything (no shields.io, no
web fonts), so each badge is one self-contained SVG, shields-like (a grey label, a coloured value), with the
text widths estimated from a fixed table of Verdana advances rather than measured.

The ratio's denominator is the MUST requirements that were *judged* on the target (passed, failed or errored);
skipped, untested and not-run requirements are neither a pass nor a failure, so they are left out, and the
badge says "not run" when nothing was judged. A known failure (baseline) counts as a failure: the badge shows
conformance, not the run's exit status.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from atcheck.report.model import RunReport, Verdict, requirement_matrix
from atcheck.report.summary import Matrix

#: Colours of shields.io's scale, by the lowest ratio that earns them.
_SCALE = ((1.0, "#4c1"), (0.9, "#97ca00"), (0.75, "#dfb317"), (0.5, "#fe7d37"), (0.0, "#e05d44"))
_GREY = "#9f9f9f"

#: Approximate Verdana 11px advances (in px) by character class; wide enough that text never overflows.
_NARROW = set("ijlt.,:;|!'()[] ")
_WIDE = set("mwMW%@")

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.@+-]+")


@dataclass(frozen=True)
class MustRatio:
    """Judged MUST requirements of one target, and how many passed."""

    target: str
    passed: int
    judged: int

    @property
    def ratio(self) -> float | None:
        return self.passed / self.judged if self.judged else None

    @property
    def text(self) -> str:
        if not self.judged:
            return "not run"
        return f"{self.passed}/{self.judged} ({100 * self.passed / self.judged:.0f}%)"

    @property
    def colour(self) -> str:
        ratio = self.ratio
        if ratio is None:
            return _GREY
        return next(colour for floor, colour in _SCALE if ratio >= floor)


def must_ratios(report: RunReport, matrix: Matrix | None = None) -> list[MustRatio]:
    """One :class:`MustRatio` per target of the report, in the report's order."""
    if matrix is None:
        matrix = requirement_matrix(report)
    must = [req.id for req in report.requirements if req.level == "MUST"]
    judged_verdicts = (Verdict.PASSED, Verdict.FAILED, Verdict.ERROR)
    ratios = []
    for target in report.targets:
        verdicts = [matrix.get((req_id, target.name)) for req_id in must]
        judged = sum(1 for v in verdicts if v in judged_verdicts)
        passed = sum(1 for v in verdicts if v == Verdict.PASSED)
        ratios.append(MustRatio(target.name, passed, judged))
    return ratios


def _width(text: str) -> int:
    return sum(4 if c in _NARROW else 10 if c in _WIDE else 7 for c in text) + 10


def render_badge(label: str, value: str, colour: str) -> str:
    """A shields-like flat badge: ``label`` on grey, ``value`` on ``colour``; escaped, nothing external."""
    lw, vw = _width(label), _width(value)
    total = lw + vw
    lab, val = html.escape(label), html.escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{lab}: {val}"><title>{lab}: {val}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{vw}" height="20" fill="{colour}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'font-size="11">'
        f'<text x="{lw / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{lab}</text>'
        f'<text x="{lw / 2:.1f}" y="14">{lab}</text>'
        f'<text x="{lw + vw / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{val}</text>'
        f'<text x="{lw + vw / 2:.1f}" y="14">{val}</text></g></svg>\n'
    )


def badge_file_name(target: str) -> str:
    """A file name for a target's badge: the run name with anything unsafe in a path replaced by ``_``."""
    return (_UNSAFE_FILE_CHARS.sub("_", target).strip("._") or "target") + ".svg"


def render_badges(report: RunReport, matrix: Matrix | None = None) -> dict[str, str]:
    """Badge file name -> SVG text, one per target, labelled ``<target> MUST``."""
    badges: dict[str, str] = {}
    for ratio in must_ratios(report, matrix):
        name = badge_file_name(ratio.target)
        n = 2
        while name in badges:  # two run names that sanitise alike
            name = badge_file_name(f"{ratio.target}-{n}")
            n += 1
        badges[name] = render_badge(f"{ratio.target} MUST", ratio.text, ratio.colour)
    return badges

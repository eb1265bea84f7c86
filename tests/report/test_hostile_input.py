"""Whatever a server sends, every report file stays well-formed and no planted secret gets through.

Hypothesis draws messages, headers, bodies and URLs from all of Unicode (controls, surrogates, markup,
quotes, Markdown and XML syntax) and plants known secrets and credential-shaped fields among them.
"""

from __future__ import annotations

import json
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atcheck.report.json_writer import validation_errors
from atcheck.report.model import Exchange, Outcome, RunReport
from atcheck.report.model import TestResult as Result
from atcheck.report.writer import write_reports

SECRET = "Zq9-secret-7Lw"  # known to the run: passed to write_reports
UNKNOWN = "Yx8-unlisted-6Kv"  # not passed: only the structural rules can catch it

garbage = st.text(st.characters(codec=None), max_size=80) | st.sampled_from(
    [
        "<script>alert(1)</script>",
        "]]>",
        "<!--",
        "&#0;",
        "\x00",
        "\ud800",
        "| --- |",
        "`",
        "${x}",
        '"\\',
        "\r\n",
    ]
)
pieces = st.lists(garbage, max_size=4).map("".join)


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """Garbage with a secret planted somewhere: the known one raw, the unknown one as a credential."""
    before, after = draw(pieces), draw(pieces)
    planted = draw(
        st.sampled_from(
            [
                SECRET,
                f'{{"password": "{UNKNOWN}"}}',
                f"refreshJwt={UNKNOWN}",
                f"Authorization: Bearer {UNKNOWN}",
                f"'token': '{UNKNOWN}'",
                f"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ{UNKNOWN}In0.c2ln",
            ]
        )
    )
    return before + planted + after


class _Balanced(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ok = True
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        if tag not in ("meta", "input", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.ok = False


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    message=hostile_text(),
    header=hostile_text(),
    body=hostile_text(),
    url_tail=pieces,
    reason=hostile_text(),
)
def test_every_file_survives_hostile_input(
    report: RunReport, message: str, header: str, body: str, url_tail: str, reason: str
) -> None:
    failing = Result(
        "suites/fuzz/test_garbage.py::test_it",
        "arroba",
        ["XRPC-ERR-01"],
        "MUST",
        Outcome.FAILED,
        message=message,
        evidence=[
            Exchange(
                "POST",
                "http://127.0.0.1:1/xrpc/x?" + url_tail,
                500,
                request_headers={"X-Anything": header},
                request_body=body,
                response_headers={"X-Echo": header},
                response_body=body,
            )
        ],
    )
    targets = [*report.targets[:2], replace(report.targets[2], reason=reason)]
    run = replace(report, results=[*report.results, failing], targets=targets)
    with tempfile.TemporaryDirectory() as tmp:
        written = write_reports(run, Path(tmp), secrets=[SECRET])
        texts = {kind: path.read_bytes().decode("utf-8") for kind, path in written.items()}
    for kind, text in texts.items():
        assert SECRET not in text and UNKNOWN not in text, kind
    assert validation_errors(json.loads(texts["json"])) == []
    ET.fromstring(texts["junit"])
    parser = _Balanced()
    parser.feed(texts["html"])
    parser.close()
    assert parser.ok and parser.stack == [] and parser.scripts == 1
    assert "<script>alert" not in texts["html"] and "<script>alert" not in texts["markdown"]

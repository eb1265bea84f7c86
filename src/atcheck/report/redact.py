"""Scrub secrets from everything a report writes.

Reports are shared: attached to CI runs, pasted into issues, published. Evidence, though, is raw HTTP
traffic with passwords, session tokens and admin credentials in it, and a hostile or buggy server may echo
them back in error messages. So every string that reaches a report file passes through a
:class:`Redactor` twice:

1. the model is scrubbed field by field (:meth:`Redactor.report`), *before* any writer truncates or escapes
   a string: a secret cut in half by truncation, or turned into ``&lt;`` by HTML escaping, can no longer be
   found by exact matching, so it has to go while it is still whole and raw;
2. every rendered file is scrubbed once more (:meth:`Redactor.net`: exact secrets and JWTs), as a net for
   anything a writer adds on its own.

Two kinds of rules apply:

* the exact *secret values* the run knows (passwords it chose, tokens it was given), in their raw,
  JSON-escaped, URL-encoded and HTML-escaped spellings;
* *structural* rules that need no list: credential headers (``Authorization``, ``Cookie``, ``DPoP``...), JSON
  fields and query parameters whose name says secret (``password``, ``accessJwt``, ``refreshJwt``, ``token``,
  ``secret``, ``privateKey``...), private JWK members, and anything that looks like a JWT (``eyJ...``).

Everything found is replaced by ``[redacted]``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

from atcheck.report.model import Exchange, RequirementInfo, RunReport, TargetInfo, TestResult

REDACTED = "[redacted]"

#: Headers whose whole value is a credential, lower-cased.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "dpop",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-csrf-token",
    }
)

#: Authorization schemes kept as evidence (which scheme was sent matters); the credential never is.
AUTH_SCHEMES = frozenset({"bearer", "dpop", "basic", "digest", "negotiate"})

#: Substrings that make a field, parameter or header name secret (compared lower-cased, without ``-``/``_``).
SECRET_NAME_PARTS = ("password", "passwd", "secret", "token", "jwt", "privatekey", "apikey", "credential")

#: JWK members that hold private key material (RFC 7518 section 6); redacted in any object that has ``kty``.
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})

# A JWT (or JWS/JWE) in any text: base64url of '{"' starts with eyJ; at least two dot-separated segments.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*)*")

# A secret-looking name, matched from its keyword on (what precedes it, as in "accessJwt", is kept as is);
# the tail is bounded so that a long hostile word ("tokentoken...") cannot make matching quadratic.
_NAME = (
    r"(?:password|passwd|secret|token|jwt|private[_-]?key|api[_-]?key|credential|authorization|cookie|dpop)"
    r"[A-Za-z0-9_-]{0,40}"
)
# "password": "x", 'password': 'x', password="x" (JSON, Python reprs, logs), also when not valid JSON overall.
_QUOTED_FIELD = re.compile(
    rf"""(?P<key>{_NAME}["']?\s*[:=]\s*)(?P<q>["'])(?:\\.|(?!(?P=q))[^\\])*(?P=q)""",
    re.IGNORECASE,
)
# password=x in form bodies, query strings and log lines.
_BARE_FIELD = re.compile(rf"(?P<key>{_NAME}\s*=\s*)(?![\"'\s])[^\s&;,\"'<>]+", re.IGNORECASE)
# Cheap lower-case substrings that must be present for any of the name-based patterns to match.
_HINTS = ("pass", "secret", "token", "jwt", "key", "credential", "authorization", "cookie", "dpop")
# Authorization: Bearer x / Cookie: x in raw header dumps inside messages. The value stops at a quote or
# markup so that it cannot swallow the syntax around it (quoted forms are _QUOTED_FIELD's).
_HEADER_LINE = re.compile(
    r"(?P<key>(?:authorization|cookie|dpop)\s*:\s*)[^\r\n\"'<>&]+",
    re.IGNORECASE,
)


def _secret_name(name: str) -> bool:
    norm = name.lower().replace("-", "").replace("_", "")
    return any(part in norm for part in SECRET_NAME_PARTS)


def _spellings(secret: str) -> set[str]:
    """The forms a secret takes once written into JSON, a URL, HTML or XML."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        html.escape(secret, quote=True),
        html.escape(secret, quote=False),
        html.escape(secret, quote=True).replace("&#x27;", "&apos;"),
    }
    return {form for form in forms if form}


class Redactor:
    """Replaces secrets by ``[redacted]`` in text, headers, JSON values, URLs and whole reports.

    ``secrets`` are exact values (passwords, tokens, admin credentials) known to the run; empty ones are
    ignored. Structural rules apply whether or not any secret is given.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= _spellings(secret)
        # Longest first, so that a secret containing another is replaced whole.
        ordered = sorted(forms, key=lambda s: (-len(s), s))
        self._exact = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    # -- text ---------------------------------------------------------------------------------------------

    def text(self, value: str) -> str:
        """Scrub free text: known secrets, JWTs, ``name: "value"``/``name=value`` pairs, header lines."""
        value = self.net(value)
        lower = value.lower()
        if not any(hint in lower for hint in _HINTS):
            return value
        value = _HEADER_LINE.sub(lambda m: m.group("key") + REDACTED, value)
        value = _QUOTED_FIELD.sub(lambda m: m.group("key") + m.group("q") + REDACTED + m.group("q"), value)
        return _BARE_FIELD.sub(lambda m: m.group("key") + REDACTED, value)

    def net(self, value: str) -> str:
        """The last pass over rendered files: known secrets in every spelling, and JWTs.

        The name-based rules are left out on purpose: every model string went through them already, and
        over a rendered file they would only find the writers' own markup (and could disturb its syntax).
        """
        if self._exact is not None:
            value = self._exact.sub(REDACTED, value)
        if "eyJ" in value:
            value = _JWT.sub(REDACTED, value)
        return value

    def optional_text(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    # -- structured values --------------------------------------------------------------------------------

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Scrub HTTP headers: credential headers lose their value (an auth scheme word is kept)."""
        out: dict[str, str] = {}
        for name, value in headers.items():
            lower = name.lower()
            if lower in ("authorization", "proxy-authorization"):
                scheme, _, rest = value.strip().partition(" ")
                known = rest and scheme.lower() in AUTH_SCHEMES
                out[self.text(name)] = f"{scheme} {REDACTED}" if known else REDACTED
            elif lower in SECRET_HEADERS or _secret_name(lower):
                out[self.text(name)] = REDACTED
            else:
                out[self.text(name)] = self.text(value)
        return out

    def json_value(self, value: Any) -> Any:
        """Scrub a decoded JSON value: secret-named fields and private JWK members lose their value."""
        if isinstance(value, dict):
            is_jwk = "kty" in value
            out: dict[str, Any] = {}
            for key, item in value.items():
                skey = str(key)
                if _secret_name(skey) or (is_jwk and skey in PRIVATE_JWK_MEMBERS):
                    out[self.text(skey)] = REDACTED
                else:
                    out[self.text(skey)] = self.json_value(item)
            return out
        if isinstance(value, list):
            return [self.json_value(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def body(self, body: str | None) -> str | None:
        """Scrub an HTTP body: structurally when it is JSON, as text otherwise (or as well)."""
        if body is None:
            return None
        stripped = body.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                decoded = json.loads(body)
            except ValueError:
                pass
            else:
                scrubbed = self.json_value(decoded)
                if scrubbed != decoded:
                    body = json.dumps(scrubbed, ensure_ascii=False)
        return self.text(body)

    def url(self, url: str) -> str:
        """Scrub a URL: a password in the userinfo, secret-named query parameters, then as text."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return self.text(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user, sep, _password = userinfo.partition(":")
            netloc = f"{user}{sep}{REDACTED if sep else ''}@{hostport}"
        rebuilt = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        return self.text(rebuilt)

    # -- the model ----------------------------------------------------------------------------------------

    def model(self, value: Any, name: str | None = None, *, trusted: bool = False) -> Any:
        """Scrub any part of the report model, field by field, into a copy.

        Generic on purpose: a field someone adds to the model later is scrubbed like its neighbours (by its
        type, or by its name for URLs, headers, bodies and the environment) instead of leaking by default.
        The catalogue (:class:`RequirementInfo`) is project text that talks *about* tokens and passwords
        ("``token_type: "DPoP"``"), so only known secrets and JWTs are taken out of it, not name patterns.
        """
        if is_dataclass(value) and not isinstance(value, type):
            trusted = trusted or isinstance(value, RequirementInfo)
            changes = {
                f.name: self.model(getattr(value, f.name), f.name, trusted=trusted)
                for f in fields(value)
                if f.init
            }
            return replace(value, **changes)
        if value is None or isinstance(value, Enum | bool | int | float):
            return value
        if isinstance(value, str):
            if trusted:
                return self.net(value)
            if name == "url":
                return self.url(value)
            if name in ("request_body", "response_body"):
                return self.body(value)
            return self.text(value)
        if isinstance(value, list | tuple):
            return type(value)(self.model(item, trusted=trusted) for item in value)
        if isinstance(value, Mapping):
            if trusted:
                return {self.net(str(k)): self.model(v, trusted=True) for k, v in value.items()}
            if name in ("request_headers", "response_headers"):
                return self.headers(value)
            if name == "environment":
                return self.environment(value)
            return self.json_value(dict(value))
        return value

    def exchange(self, exchange: Exchange) -> Exchange:
        return cast(Exchange, self.model(exchange))

    def result(self, result: TestResult) -> TestResult:
        return cast(TestResult, self.model(result))

    def target(self, target: TargetInfo) -> TargetInfo:
        return cast(TargetInfo, self.model(target))

    def requirement(self, req: RequirementInfo) -> RequirementInfo:
        return cast(RequirementInfo, self.model(req))

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """Scrub the run's environment: a variable named like a secret loses its value."""
        return {self.text(k): REDACTED if _secret_name(k) else self.text(v) for k, v in env.items()}

    def report(self, report: RunReport) -> RunReport:
        """A scrubbed copy of the whole report; the original is left untouched."""
        return cast(RunReport, self.model(report))


def scrub_files(paths: Iterable[Path], secrets: Iterable[str]) -> None:
    """Scrub the run's secrets from files written beside the reports (service logs, allure's results).

    The one pass for files atcheck did not render itself: each is rewritten only when it held a secret, and
    one that cannot be read or written is left alone (it is not a report of ours).
    """
    redactor = Redactor(secrets)
    for path in paths:
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            scrubbed = redactor.text(text)
            if scrubbed != text:
                path.write_text(scrubbed, encoding="utf-8")
        except OSError:
            continue

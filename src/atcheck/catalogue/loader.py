"""Load and check the requirement catalogue (``requirements.toml``).

The catalogue is the denominator of every coverage figure, and tests are collected against its IDs, so a
malformed entry must stop a run with one line that names the entry and the key at fault, not produce a
quietly wrong report. Every check here is strict for that reason: unknown keys, levels, areas or components
are errors, never ignored.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from atcheck.errors import CatalogueError
from atcheck.report.model import RequirementInfo

DEFAULT_PATH = Path(__file__).with_name("requirements.toml")

#: Strongest first: a test's level is the strongest level among the requirements it checks.
LEVELS: tuple[str, ...] = ("MUST", "SHOULD", "MAY")

#: Area name for each ID prefix, in the catalogue's (and the report's) order.
AREA_OF_PREFIX: Mapping[str, str] = {
    "SYN": "syntax",
    "DM": "data-model",
    "LEX": "lexicon",
    "CRY": "crypto",
    "REPO": "repo",
    "BLOB": "blob",
    "SYNC": "sync",
    "ID": "identity",
    "ACCT": "account",
    "MIG": "migration",
    "XRPC": "xrpc",
    "LBL": "label",
    "OAUTH": "oauth",
}
AREAS: tuple[str, ...] = tuple(AREA_OF_PREFIX.values())

#: Components a requirement can apply to (the roles of targets, plus libraries, clients and OAuth servers).
COMPONENTS: tuple[str, ...] = (
    "pds",
    "plc",
    "relay",
    "appview",
    "labeler",
    "consumer",
    "resolver",
    "lib",
    "client",
    "as",
    "rs",
)

#: Test kinds: official vectors, property-based, black-box, negative, fault injection, inspection of
#: artifacts, static checks of schemas, and human review (not machine-testable).
TEST_KINDS: tuple[str, ...] = ("VEC", "PBT", "BB", "NEG", "FI", "INSP", "LINT", "REVIEW")

ID_PATTERN = re.compile(r"^[A-Z]+(-[A-Z0-9]+)*-[0-9]{2,3}[a-z]?$")

_REQUIRED_KEYS = ("id", "level", "area", "statement", "spec", "applies_to", "how")
_OPTIONAL_KEYS = ("hint", "level_note", "deviations", "source_note", "origin", "untested")
#: Where a row comes from: the design draft the catalogue started from, or atcheck's own later additions.
ORIGINS = ("draft", "atcheck")
_KNOWN_KEYS = frozenset(_REQUIRED_KEYS + _OPTIONAL_KEYS)


@dataclass(frozen=True)
class Requirement:
    """One testable requirement. Frozen: the catalogue is shared by every test and report writer."""

    id: str
    level: str  # MUST | SHOULD | MAY
    area: str
    statement: str
    spec: str  # spec page + section, or a Lexicon NSID
    applies_to: tuple[str, ...]
    how: tuple[str, ...]
    hint: str = ""
    level_note: str | None = None  # the full wording of a mixed level ("MUST / SHOULD")
    deviations: tuple[str, ...] = ()  # where spec, official vectors and reference disagree
    source_note: str | None = None  # derived from a Lexicon or the reference rather than spec prose
    origin: str = "draft"  # "draft" (shared/design/requirements-draft.md) or "atcheck" (added since)
    untested: str | None = None  # why no test checks this row (yet), where that is a decision, not a gap

    @property
    def spec_url(self) -> str | None:
        """A link to the page ``spec`` names first (a spec page, guide, did:plc spec or Lexicon), if known.

        Page-level only: section anchors on the spec site are not stable enough to build from headings.
        """
        first = self.spec.split(";")[0].strip()
        nsid = re.fullmatch(r"`((?:com\.atproto|app\.bsky)(?:\.[a-zA-Z]+){2})(#\w+)?`.*", first)
        if nsid:
            return f"{_LEXICONS}/{nsid.group(1).replace('.', '/')}.json"
        page = re.split(r"[ §(]", first, maxsplit=1)[0]
        if page in _SPEC_PAGES:
            return f"https://atproto.com/specs/{_SPEC_PAGES[page]}"
        if page in _GUIDES:
            return f"https://atproto.com/guides/{_GUIDES[page]}"
        if page == "did-plc":
            return "https://web.plc.directory/spec/v0.1/did-plc"
        return None


_LEXICONS = "https://github.com/bluesky-social/atproto/blob/main/lexicons"
_SPEC_PAGES = {
    "atp": "atp",
    "did": "did",
    "handle": "handle",
    "nsid": "nsid",
    "tid": "tid",
    "record-key": "record-key",
    "at-uri": "at-uri-scheme",
    "data-model": "data-model",
    "lexicon": "lexicon",
    "cryptography": "cryptography",
    "repository": "repository",
    "blob": "blob",
    "sync": "sync",
    "event-stream": "event-stream",
    "account": "account",
    "xrpc": "xrpc",
    "label": "label",
    "oauth": "oauth",
    "permission": "permission",
}
_GUIDES = {
    "account-lifecycle": "account-lifecycle",
    "migration": "account-migration",
    "data-validation": "data-validation",
}


class Catalogue:
    """The requirements, by ID and by area, in file order."""

    def __init__(self, requirements: Iterable[Requirement], *, source: Path | None = None) -> None:
        self.source = source
        self._by_id: dict[str, Requirement] = {}
        for req in requirements:
            if req.id in self._by_id:
                raise CatalogueError(f"{self._where()}{req.id}: key 'id': duplicate")
            self._by_id[req.id] = req

    def _where(self) -> str:
        return f"{self.source.name}: " if self.source else ""

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self._by_id.values())

    def __contains__(self, req_id: object) -> bool:
        return req_id in self._by_id

    def __repr__(self) -> str:
        return f"<Catalogue {len(self)} requirements from {self.source}>"

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def get(self, req_id: str) -> Requirement:
        """The requirement with this ID; an unknown ID is a :class:`CatalogueError` with a suggestion."""
        try:
            return self._by_id[req_id]
        except KeyError:
            raise CatalogueError(self._unknown_message(req_id)) from None

    def _unknown_message(self, req_id: str) -> str:
        close = difflib.get_close_matches(req_id, self._by_id, n=1)
        suggestion = f" (did you mean {close[0]}?)" if close else ""
        return f"unknown requirement ID {req_id!r}{suggestion}"

    @property
    def areas(self) -> tuple[str, ...]:
        """The areas that have requirements, in the canonical order of :data:`AREAS`."""
        present = {req.area for req in self}
        return tuple(area for area in AREAS if area in present)

    def by_area(self, area: str) -> tuple[Requirement, ...]:
        if area not in AREAS:
            raise CatalogueError(f"unknown area {area!r} (known: {', '.join(AREAS)})")
        return tuple(req for req in self if req.area == area)

    def unknown(self, ids: Iterable[str]) -> list[str]:
        """The IDs not in the catalogue, in the order given, each once (for collection-time errors)."""
        seen: set[str] = set()
        missing: list[str] = []
        for req_id in ids:
            if req_id not in self._by_id and req_id not in seen:
                seen.add(req_id)
                missing.append(req_id)
        return missing

    def strongest_level(self, ids: Iterable[str]) -> str | None:
        """The strongest level (MUST over SHOULD over MAY) among the IDs; None when there are none."""
        ranks = [LEVELS.index(self.get(req_id).level) for req_id in ids]
        return LEVELS[min(ranks)] if ranks else None

    def to_requirement_info(self, req: Requirement | str, tests: Iterable[str] = ()) -> RequirementInfo:
        """The report's view of a requirement, with the test IDs that check it."""
        if isinstance(req, str):
            req = self.get(req)
        return RequirementInfo(
            id=req.id,
            level=req.level,
            area=req.area,
            statement=req.statement,
            spec_ref=req.spec,
            applies_to=list(req.applies_to),
            deviations=list(req.deviations),
            tests=list(tests),
            spec_url=req.spec_url,
            origin=req.origin,
        )


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load and check a catalogue (the shipped one by default). Cached per path: it is read once per run."""
    return _load(Path(path).resolve() if path is not None else DEFAULT_PATH)


@cache
def _load(path: Path) -> Catalogue:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"requirement catalogue not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read requirement catalogue {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path.name}: invalid TOML: {exc}") from None
    return parse_catalogue(data, source=path)


def parse_catalogue(data: Mapping[str, Any], *, source: Path | None = None) -> Catalogue:
    """Check parsed TOML and build the catalogue; the first problem found is raised."""
    where = f"{source.name}: " if source else ""
    extra = sorted(set(data) - {"requirement"})
    if extra:
        raise CatalogueError(f"{where}unknown top-level key {extra[0]!r} (expected only [[requirement]])")
    entries = data.get("requirement")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{where}no [[requirement]] entries")
    requirements: list[Requirement] = []
    first_seen: dict[str, int] = {}
    for index, entry in enumerate(entries, start=1):
        req = _parse_entry(entry, index, where)
        if req.id in first_seen:
            raise CatalogueError(
                f"{where}{req.id}: key 'id': duplicate (entries #{first_seen[req.id]} and #{index})"
            )
        first_seen[req.id] = index
        requirements.append(req)
    return Catalogue(requirements, source=source)


def _parse_entry(entry: Any, index: int, where: str) -> Requirement:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}requirement #{index}: not a table")
    raw_id = entry.get("id")
    if not isinstance(raw_id, str) or not raw_id:
        raise CatalogueError(f"{where}requirement #{index}: key 'id': missing or not a non-empty string")
    rid = raw_id

    def fail(key: str, problem: str) -> CatalogueError:
        return CatalogueError(f"{where}{rid}: key {key!r}: {problem}")

    if not ID_PATTERN.match(rid):
        raise fail("id", f"{rid!r} does not match {ID_PATTERN.pattern}")
    for key in entry:
        if key not in _KNOWN_KEYS:
            raise fail(key, f"unknown key (known: {', '.join(_REQUIRED_KEYS + _OPTIONAL_KEYS)})")
    for key in _REQUIRED_KEYS:
        if key not in entry:
            raise fail(key, "missing")

    def text(key: str, *, one_line: bool = True) -> str:
        value = entry[key]
        if not isinstance(value, str) or not value.strip():
            raise fail(key, "must be a non-empty string")
        if one_line and "\n" in value:
            raise fail(key, "must be one line")
        return value

    def optional_text(key: str) -> str | None:
        return text(key) if key in entry else None

    def choices(key: str, allowed: tuple[str, ...], *, may_be_empty: bool = False) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise fail(key, "must be a list of strings")
        if not value and not may_be_empty:
            raise fail(key, "must not be empty")
        for item in value:
            if item not in allowed:
                raise fail(key, f"unknown value {item!r} (known: {', '.join(allowed)})")
        if len(set(value)) != len(value):
            raise fail(key, "lists a value twice")
        return tuple(value)

    level = text("level")
    if level not in LEVELS:
        raise fail("level", f"unknown level {level!r} (known: {', '.join(LEVELS)})")
    area = text("area")
    if area not in AREAS:
        raise fail("area", f"unknown area {area!r} (known: {', '.join(AREAS)})")
    prefix = rid.split("-", 1)[0]
    expected_area = AREA_OF_PREFIX.get(prefix)
    if expected_area is None:
        raise fail("id", f"unknown prefix {prefix!r} (known: {', '.join(AREA_OF_PREFIX)})")
    if expected_area != area:
        raise fail("area", f"{area!r} does not match the ID prefix (expected {expected_area!r})")
    deviations = entry.get("deviations", [])
    if not isinstance(deviations, list) or not all(isinstance(d, str) and d.strip() for d in deviations):
        raise fail("deviations", "must be a list of non-empty strings")
    return Requirement(
        id=rid,
        level=level,
        area=area,
        statement=text("statement"),
        spec=text("spec"),
        applies_to=choices("applies_to", COMPONENTS),
        how=choices("how", TEST_KINDS),
        hint=optional_text("hint") or "",
        level_note=optional_text("level_note"),
        deviations=tuple(deviations),
        source_note=optional_text("source_note"),
        origin=_origin(optional_text("origin"), fail),
        untested=optional_text("untested"),
    )


def _origin(value: str | None, fail: Callable[[str, str], CatalogueError]) -> str:
    if value is None:
        return "draft"
    if value not in ORIGINS:
        raise fail("origin", f"unknown value {value!r} (known: {', '.join(ORIGINS)})")
    return value

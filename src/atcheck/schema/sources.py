"""Where Lexicon documents come from: the pinned default (the ``lexrpc`` wheel) or a user's folder.

The default source is the set of raw Lexicon JSON files shipped inside the ``lexrpc`` wheel on PyPI: it is
offline, versioned and reproducible, and it spans com.atproto, app.bsky, chat.bsky, tools.ozone and more. Its
package name and version are recorded in every generated schema, so a stale or foreign schema is recognisable.
A user's tree (``--lexicons DIR``: an implementer's or spec maintainer's checkout) is read the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path

from atcheck.errors import SetupError, UsageError
from atcheck.schema.document import JSON, LexiconDocument, LexiconError, parse_document

DEFAULT_PACKAGE = "lexrpc"
PINNED_VERSION = "3.0"
"""The lexrpc release whose Lexicons the committed ``schemas/lexicons/`` were built from."""


@dataclass(frozen=True)
class LexiconSet:
    """A consistent set of Lexicon documents keyed by NSID, plus a provenance record for generated output."""

    documents: Mapping[str, LexiconDocument]
    provenance: Mapping[str, str]

    def __len__(self) -> int:
        return len(self.documents)

    def get(self, nsid: str) -> LexiconDocument:
        try:
            return self.documents[nsid]
        except KeyError:
            raise UsageError(f"unknown Lexicon NSID {nsid!r} (not in {self.describe()})") from None

    def describe(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.provenance.items())


def read_json(text: str, origin: str) -> JSON:
    """Parse JSON, turning a syntax error into a one-line error with file, line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{origin}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None


def read_json_file(path: Path) -> JSON:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    return read_json(text, str(path))


def _collect(docs: Iterable[LexiconDocument]) -> dict[str, LexiconDocument]:
    out: dict[str, LexiconDocument] = {}
    for doc in docs:
        if doc.nsid in out:
            raise LexiconError(
                doc.origin, "$.id", f"NSID {doc.nsid} is also defined by {out[doc.nsid].origin}"
            )
        out[doc.nsid] = doc
    return dict(sorted(out.items()))


def _walk(node: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        rel = f"{prefix}/{child.name}" if prefix else child.name
        if child.is_dir():
            yield from _walk(child, rel)
        elif child.name.endswith(".json"):
            yield rel, child


def default_lexicons() -> LexiconSet:
    """The Lexicons shipped in the installed ``lexrpc`` wheel, with its version as provenance."""
    try:
        version = metadata.version(DEFAULT_PACKAGE)
        root = resources.files(DEFAULT_PACKAGE).joinpath("lexicons")
    except (metadata.PackageNotFoundError, ModuleNotFoundError):
        raise SetupError(
            f"the default Lexicon source, the {DEFAULT_PACKAGE} wheel, is not installed",
            hint=f"pip install {DEFAULT_PACKAGE}=={PINNED_VERSION}, or pass --lexicons DIR",
        ) from None
    docs = []
    for rel, item in _walk(root, ""):
        origin = f"{DEFAULT_PACKAGE}-{version}:lexicons/{rel}"
        docs.append(parse_document(read_json(item.read_text(encoding="utf-8"), origin), origin))
    return LexiconSet(
        documents=_collect(docs),
        provenance={"source": "pypi", "package": DEFAULT_PACKAGE, "version": version},
    )


def load_path(path: Path) -> list[LexiconDocument]:
    """Every Lexicon document in ``path``: a ``.json`` file or a folder searched recursively."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        return [parse_document(read_json_file(p), str(p)) for p in files]
    if path.is_file():
        return [parse_document(read_json_file(path), str(path))]
    raise UsageError(f"{path}: no such file or folder")


def directory_lexicons(path: Path) -> LexiconSet:
    """A user's Lexicon tree; provenance names the folder (its version is whatever the user checked out)."""
    docs = load_path(path)
    if not docs:
        raise UsageError(f"{path}: no Lexicon .json files found")
    return LexiconSet(documents=_collect(docs), provenance={"source": "directory", "path": str(path)})


def lexicons(path: Path | None = None) -> LexiconSet:
    """``--lexicons DIR`` when given, else the pinned default."""
    return directory_lexicons(path) if path is not None else default_lexicons()


def overlay(primary: LexiconSet, base: LexiconSet) -> LexiconSet:
    """``primary``'s documents plus ``base``'s for NSIDs it lacks (so a lone edited file's refs resolve)."""
    merged = {**base.documents, **primary.documents}
    provenance = {**primary.provenance, "fallback": base.describe()}
    return LexiconSet(documents=dict(sorted(merged.items())), provenance=provenance)

"""The streaming verifier (``atcheck.oracle.stream``) agrees with ``verify_repo_car`` on every case.

Rather than restate the negatives, every test of ``test_repo_verify.py`` is run again with that module's
``verify_repo_car`` replaced by the streaming verifier, fed 7 bytes per read so that every section, CID and
varint straddles a read boundary. Each negative asserts its *reason*, so the streamed walk must refuse a bad
repo for the same cause; the root comparison it does without (it never holds all records) must not be
what any case relied on.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from atcheck.oracle.build import build_repo
from atcheck.oracle.crypto import PrivateKey
from atcheck.oracle.errors import OracleError
from atcheck.oracle.repo import VerifiedRepo
from atcheck.oracle.stream import CarStream, verify_repo_stream


def _load_sibling() -> ModuleType:
    path = Path(__file__).with_name("test_repo_verify.py")
    spec = importlib.util.spec_from_file_location("_repo_verify_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cases(module: ModuleType) -> list[Any]:
    """One param per test of the module and per case of its own ``parametrize`` (one level of it)."""
    out = []
    for name, fn in sorted(vars(module).items()):
        if not (name.startswith("test_") and inspect.isfunction(fn)):
            continue
        marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
        if not marks:
            out.append(pytest.param(name, {}, id=name))
            continue
        names = (
            [n.strip() for n in marks[0].args[0].split(",")]
            if isinstance(marks[0].args[0], str)
            else list(marks[0].args[0])
        )
        for i, values in enumerate(marks[0].args[1]):
            values = values.values if hasattr(values, "values") else values
            values = values if len(names) > 1 else (values,)
            out.append(pytest.param(name, dict(zip(names, values, strict=True)), id=f"{name}-{i}"))
    return out


CASES = _load_sibling()


def _trickle(data: bytes, step: int = 7) -> Callable[[int], bytes]:
    source = io.BytesIO(data)
    return lambda n: source.read(min(n, step))


def streamed(car: bytes, **kwargs: Any) -> VerifiedRepo:
    """``verify_repo_car``'s signature and result, computed by the streaming verifier."""
    records: dict[str, tuple[Any, Any]] = {}
    found = verify_repo_stream(
        _trickle(car), on_record=lambda path, cid, value: records.__setitem__(path, (cid, value)), **kwargs
    )
    return VerifiedRepo(
        commit=found.commit,
        root=found.root,
        records=records,
        block_count=found.block_count,
        mst_node_count=found.mst_node_count,
        unreferenced_blocks=found.unreferenced_blocks,
        duplicate_blocks=found.duplicate_blocks,
    )


@pytest.fixture(scope="module", params=["k256", "p256"])
def key(request: pytest.FixtureRequest) -> PrivateKey:
    return PrivateKey.generate(request.param)


@pytest.mark.parametrize(("name", "args"), _cases(CASES))
def test_the_streaming_verifier_passes_the_same_case(
    name: str, args: dict[str, Any], key: PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CASES, "verify_repo_car", streamed)
    getattr(CASES, name)(key, **args)


def test_it_holds_one_chunk_not_the_car() -> None:
    """The reader's buffer never grows past a chunk plus one section, whatever the CAR's size."""
    key = PrivateKey.generate("k256")
    collection = "com.example.atcheck.scale"
    records = {f"{collection}/r{i:06d}": {"$type": collection, "i": i} for i in range(3000)}
    repo = build_repo("did:plc:ewvi7nxzyoun6zhxrhs64oiz", records, key)
    car = repo.car()
    stream = CarStream(io.BytesIO(car).read, chunk=4096)
    largest = 0
    for _ in stream:
        largest = max(largest, len(stream._buf))
    assert stream.offset == len(car) and largest < 2 * 4096


def test_a_truncated_stream_names_the_offset() -> None:
    key = PrivateKey.generate("k256")
    car = build_repo("did:plc:ewvi7nxzyoun6zhxrhs64oiz", {}, key).car()
    with pytest.raises(OracleError, match="runs past the end"):
        verify_repo_stream(_trickle(car[:-3]))

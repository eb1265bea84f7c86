"""The SYNC-ES-13 verdict on fabricated streams: a server that sends ``#info OutdatedCursor`` and then the
window from its oldest event passes; one that leaves out the info, names it wrongly, starts elsewhere,
replays writes from before the window, drops one of the window or breaks seq order fails."""

from __future__ import annotations

from typing import Any

import pytest

from atcheck.suite.firehose import Frame, StreamFailure
from atcheck.suite.replay_window import expect_outdated_then_window

COLL = "com.example.atcheck.window"
OLD = [f"{COLL}/old{i}" for i in range(3)]
NEW = [f"{COLL}/new{i}" for i in range(3)]


def _frame(index: int, header: dict[str, Any], body: dict[str, Any]) -> Frame:
    return Frame(stream="fake", index=index, raw=b"", header=header, body=body)


def _info(name: str = "OutdatedCursor") -> Frame:
    return _frame(0, {"op": 1, "t": "#info"}, {"name": name})


def _commit(seq: int, path: str) -> Frame:
    return _frame(seq, {"op": 1, "t": "#commit"}, {"seq": seq, "ops": [{"action": "create", "path": path}]})


def _window(first_seq: int = 10) -> list[Frame]:
    return [_commit(first_seq + i, path) for i, path in enumerate(NEW)]


def test_info_then_the_window_from_its_oldest_event_passes() -> None:
    expect_outdated_then_window([_info(), *_window()], 10, OLD, NEW, "fake")


def test_an_unknown_oldest_seq_is_not_judged() -> None:
    expect_outdated_then_window([_info(), *_window()], None, OLD, NEW, "fake")


STREAMS = {
    "no-info": ([*_window()], "the first frame to be #info"),
    "other-info": ([_info("SomethingElse"), *_window()], "the first frame to be #info"),
    "nothing-after-info": ([_info()], "the replay to start at the oldest available seq"),
    "starts-later": ([_info(), *_window()[1:]], "the replay to start at the oldest available seq"),
    "replays-old": ([_info(), _commit(9, OLD[2]), *_window()], "the replay to start at the oldest"),
    "old-inside": (
        [_info(), _commit(10, NEW[0]), _commit(11, OLD[0]), _commit(12, NEW[1]), _commit(13, NEW[2])],
        "no write from before the window",
    ),
    "drops-one": ([_info(), _commit(10, NEW[0]), _commit(12, NEW[2])], "the entire window"),
    "seq-backwards": ([_info(), _commit(10, NEW[0]), _commit(10, NEW[1])], "events with increasing seq"),
}


@pytest.mark.parametrize("fault", sorted(STREAMS))
def test_a_faulty_stream_fails(fault: str) -> None:
    frames, says = STREAMS[fault]
    with pytest.raises(StreamFailure, match=says):
        expect_outdated_then_window(frames, 10, OLD, NEW, "fake")

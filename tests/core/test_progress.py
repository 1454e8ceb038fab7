"""The one progress display: plain periodic lines (stage i of n, items, elapsed, ETA) when stderr is not a
terminal, nothing when disabled (--json), never stdout."""

import io

from neurosafe.core import progress


def test_plain_lines_name_the_stage_items_elapsed_and_eta(monkeypatch, capsys):
    stream = io.StringIO()
    progress.configure(stream=stream, tty=False, interval=0.0)
    try:
        with progress.stage("train networks", total=4, step=3, steps=4) as bar:
            bar.advance()
            bar.advance()
        lines = stream.getvalue().splitlines()
        out = capsys.readouterr().out
    finally:
        progress.reset()
    assert lines[0] == "[3/4] train networks: started, 4 items"
    assert lines[1].startswith("[3/4] train networks: 1/4 items, ") and "elapsed, ETA " in lines[1]
    assert lines[2].startswith("[3/4] train networks: 2/4 items, ") and "ETA" in lines[2]
    assert lines[-1].endswith("(done)") and out == ""


def test_switched_off_prints_nothing_and_is_restored():
    stream = io.StringIO()
    progress.configure(stream=stream, tty=False, interval=0.0)
    try:
        with progress.switched(False):
            assert list(progress.track([1, 2, 3], "quiet")) == [1, 2, 3]
        assert stream.getvalue() == "" and progress.enabled()
        list(progress.track(range(2), "loud"))
        assert "loud: 2/2 items" in stream.getvalue()
    finally:
        progress.reset()


def test_format_seconds():
    assert progress.format_seconds(4.2) == "4 s"
    assert progress.format_seconds(185) == "3 min 05 s"
    assert progress.format_seconds(3720) == "1 h 02 min"

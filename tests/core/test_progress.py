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


def test_nested_stage_is_quiet_unless_slow_and_resumed_stage_counts_from_its_checkpoint(progress_lines):
    with progress.stage("train networks", total=2) as outer:
        with progress.stage("epochs", total=3, initial=1, unit="epoch") as inner:  # resumed at epoch 1
            inner.advance(info="loss 0.50")
        outer.advance()
    lines = progress_lines()
    # nested and fast (interval 0 writes every advance): its periodic line, then its end; no "started" line
    assert lines[0] == "train networks: started, 2 items"
    assert lines[1].startswith("epochs: 2/3 epochs, loss 0.50, ") and "ETA" in lines[1]
    assert lines[2].startswith("epochs: 2/3 epochs") and lines[2].endswith("(done)")
    assert lines[3].startswith("train networks: 1/2 items") and lines[-1].endswith("(done)")
    assert not any("epochs: started" in line for line in lines)


def test_nested_stage_writes_nothing_when_it_ends_before_the_interval():
    stream = io.StringIO()
    progress.configure(stream=stream, tty=False, interval=3600.0)
    try:
        with progress.stage("outer", total=1) as outer:
            for _ in progress.track(range(5), "inner"):
                pass
            outer.advance()
    finally:
        progress.reset()
    assert [line.split(":")[0] for line in stream.getvalue().splitlines()] == ["outer", "outer"]


def test_show_false_silences_one_stage_only(progress_lines):
    assert list(progress.track([1, 2], "library call", show=False)) == [1, 2]
    assert progress_lines() == []
    list(progress.track([1], "next", initial=2, total=3))
    assert progress_lines()[0] == "next: started, 3 items, resumed at 2"

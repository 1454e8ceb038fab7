"""`neurosafe irl navigation`: one-line errors with exit code 2 on bad input."""

from typer.testing import CliRunner

from neurosafe.cli.app import app


def test_navigation_rejects_a_folder_without_data(tmp_path):
    res = CliRunner().invoke(app, ["irl", "navigation", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "neither a labyrinth" in res.output and "Traceback" not in res.output


def test_navigation_rejects_a_broken_labyrinth(tmp_path):
    (tmp_path / "maze.json").write_text('{"nodes": []}')
    res = CliRunner().invoke(app, ["irl", "navigation", str(tmp_path), "--out", str(tmp_path / "o"), "--json"])
    assert res.exit_code == 2 and "is not a labyrinth maze.json" in res.output

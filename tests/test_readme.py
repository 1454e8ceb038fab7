"""Every Python snippet of the README runs as written (every name it uses is defined), in a fresh folder.

A snippet that reads the real data (``../shared/data``) gets its absolute path (and fails under CI when the data
are missing, like every real-data test); the one that reads a finished study (``runs/default``) gets the tiny
study of the test suite copied there."""

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_the_readme_has_its_snippets():
    assert len(SNIPPETS) >= 9


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{k}" for k in range(len(SNIPPETS))])
def test_snippet_runs(code, tmp_path, monkeypatch, request):
    if "../shared/data" in code:
        shared = request.getfixturevalue("ho2022_dir").parent
        code = code.replace("../shared/data", str(shared.resolve()))
    if "runs/default" in code:
        shutil.copytree(request.getfixturevalue("tiny_study").folder, tmp_path / "runs" / "default")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})

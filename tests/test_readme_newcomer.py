"""The Python snippets of docs/readme/newcomer.md (the README's robustness, twin, model and statistics
examples) run as written: every name they use is defined."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[1] / "docs" / "readme" / "newcomer.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{k}" for k in range(len(SNIPPETS))])
def test_snippet_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(DOC), "exec"), {})

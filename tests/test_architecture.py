"""The layer contract (DESIGN.md) and the "one implementation" rules, checked on the source itself."""

import os
import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "neurosafe"


def test_import_linter_contracts_hold():
    """core <- data <- (metrics, subjects) <- paths <- study <- report <- cli; private modules stay private;
    no cycles (contracts in pyproject.toml)."""
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(SRC.parent)}  # lint this checkout's source, whatever is installed
    done = subprocess.run([str(lint), "--no-cache"], cwd=SRC.parents[1], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout and "KEPT" in done.stdout


def test_core_imports_nothing_else_of_neurosafe():
    for f in (SRC / "core").glob("*.py"):
        others = re.findall(r"^\s*(?:from|import) (neurosafe\.(?!core)\w+)", f.read_text(), flags=re.M)
        assert not others, f"{f.name} imports {others}"


def test_no_private_names_across_packages():
    """``from neurosafe.<other package>... import _name`` is how side doors start."""
    bad = []
    for f in SRC.rglob("*.py"):
        package = f.relative_to(SRC).parts[0]
        for m in re.finditer(r"^\s*from neurosafe\.(\w+)[\w.]* import \(?([^)]*?)\)?$", f.read_text(), flags=re.M):
            names = [n.strip().split(" as ")[0] for n in m.group(2).split(",")]
            if m.group(1) != package and any(n.startswith("_") for n in names):
                bad.append(f"{f.relative_to(SRC)}: {m.group(0).strip()}")
    assert not bad, bad

"""The package's shape: functions a screen long, no development tooling in it, a --help of study commands."""

import ast
import re
import subprocess
import sys

from tests.conftest import REPO

PACKAGE = REPO / "gan_study"


def test_no_function_of_the_package_is_longer_than_a_screen():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 50:
                long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})")
    assert not long, "functions over 50 lines: " + "; ".join(long)


def test_the_package_speaks_of_the_study_alone():
    """Running the study on a remote machine with time and transfer limits is development tooling (tools/)."""
    words = re.compile(r"\blease|\bcarr(y|ies|ied)\b.*\b(MiB|call)|transfer limit|device time", re.I)
    hits = [f"{p.relative_to(REPO)}:{i}" for p in sorted(PACKAGE.rglob("*")) if p.suffix in (".py", ".yaml", ".txt")
            for i, line in enumerate(p.read_text().splitlines(), 1) if words.search(line)]
    assert not hits, hits


def test_help_lists_the_study_commands_only():
    done = subprocess.run([sys.executable, "-m", "gan_study", "--help"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0
    listed = set(re.search(r"\{([a-z0-9,-]+)\}", done.stdout).group(1).split(","))
    assert {"train", "aggregate", "reaggregate", "graph-check", "report"} <= listed
    assert not {"lease-prepare", "lease-run", "restate-commit", "rule-times"} & listed

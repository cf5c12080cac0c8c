"""environment.yml (conda, for --use-conda) and pyproject.toml must list the same dependencies."""

import re
import tomllib

import yaml

from tests.conftest import REPO

CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name → PyPI name


def _name(requirement):
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip_deps = {_name(r) for r in project["dependencies"]} | {_name(r) for r in project["optional-dependencies"]["test"]}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda_deps = {CONDA_NAMES.get(_name(d), _name(d)) for d in env["dependencies"] if isinstance(d, str)}
    conda_deps.discard("python")
    assert conda_deps == pip_deps


def test_rules_use_the_same_environment():
    env_file = REPO / "workflows" / "envs" / "gan_study.yaml"
    assert env_file.resolve() == (REPO / "environment.yml").resolve()
    for smk in (REPO / "workflows" / "rules").glob("*.smk"):
        text = smk.read_text()
        assert len(re.findall(r"^rule ", text, re.M)) == text.count('conda:\n        "../envs/gan_study.yaml"'), smk.name

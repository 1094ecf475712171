"""The conda environment (envs/*.yaml) and the pip requirements pin the same versions."""
import re

import yaml

from conftest import REPO_ROOT


def pins_from_requirements():
    pins = {}
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def pins_from_env(path):
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            m = re.match(r"^([A-Za-z0-9_.\-]+)\s*==?\s*([^\s]+)$", item)
            if m and m.group(1) != "python":
                pins[m.group(1).lower()] = m.group(2)
    return pins


def test_every_env_file_matches_requirements():
    req = pins_from_requirements()
    envs = sorted((REPO_ROOT / "envs").glob("*.yaml"))
    assert envs, "no conda environment files in envs/"
    for path in envs:
        pins = pins_from_env(path)
        assert pins == req, f"{path.name} and requirements.txt disagree: " + str(
            {k: (pins.get(k), req.get(k)) for k in set(pins) | set(req) if pins.get(k) != req.get(k)})


def test_torch_is_pinned_to_the_cpu_wheel_version():
    assert pins_from_requirements()["torch"] == "2.13.0"

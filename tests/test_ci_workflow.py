"""The example CI workflow is valid YAML and runs the commands it promises."""

import yaml

from tests.conftest import ROOT


def test_github_actions_workflow():
    workflow = yaml.safe_load((ROOT / "docs" / "ci" / "github-actions.yml").read_text())
    steps = workflow["jobs"]["models"]["steps"]
    commands = " ".join(step.get("run", "") for step in steps)
    for command in ("nnlearn smoke configs/", "--expect", "nnlearn eval", "nnlearn report"):
        assert command in commands
    assert any("upload-artifact" in step.get("uses", "") for step in steps)


def test_ci_script_runs_the_readme_test_command_and_smoke():
    readme = (ROOT / "README.md").read_text()
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert any(line in readme for line in lines if "pytest" in line)
    assert any(line.endswith("nnlearn smoke configs/") for line in lines)


def test_ci_script_installs_the_browser_the_live_page_tests_need():
    script = (ROOT / ".ci" / "run").read_text()
    assert "command -v chromium" in script and "apt-get install -y -qq chromium" in script
    assert script.index("apt-get install") < script.index("pytest")

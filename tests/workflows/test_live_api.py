"""The live page's server without a browser: the token on every request, the state and its stream, saves
that are written only when valid, the controls' edits, a port in use; and, training for real, twenty
saves retrained once, a diverging run's diagnosis, and Ctrl-C during a run."""

import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rich.console import Console

from nnlearn.cli.serve import ServeOptions, Shown, serve_watch
from nnlearn.workflows.live.server import LiveApp, start_server
from nnlearn.workflows.live.state import LiveState
from tests.conftest import DIVERGES, MOONS, ROOT, ctrl_c_as_a_terminal_leaves_it, edited, invoke

TOKEN = "test-token-0123456789"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name, never fetched
INVALID = edited(MOONS, ("units: 16", "units: -3"))  # line 5


class Page:
    """A client of the server at address (http://host:port), sending the token unless told otherwise."""

    def __init__(self, address: str, token: str = TOKEN):
        parts = urlsplit(address)
        self.host, self.port, self.token = parts.hostname, parts.port, token

    def call(self, method: str, path: str, body=None, headers=None, token: str | None = "header"):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = dict(headers or {})
        if token == "header":
            headers["Authorization"] = f"token {self.token}"
        elif token == "query":
            path += ("&" if "?" in path else "?") + f"token={self.token}"
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        content = response.read()
        connection.close()
        kind = response.getheader("Content-Type", "")
        return response.status, json.loads(content) if "json" in kind else content.decode(), response

    def state(self) -> dict:
        status, state, _ = self.call("GET", "/api/state")
        assert status == 200
        return state

    def wait_for(self, condition, seconds: float = 240) -> dict:
        """The state once condition(state) holds (generous: a busy machine trains slowly, never forever)."""
        deadline = time.monotonic() + seconds
        while True:
            state = self.state()
            if condition(state) or time.monotonic() > deadline:
                return state
            time.sleep(0.1)

    def events(self) -> "Events":
        return Events(self)


class Events:
    """An open GET /api/events stream, read one `state` event at a time."""

    def __init__(self, page: Page):
        self.connection = http.client.HTTPConnection(page.host, page.port, timeout=30)
        self.connection.request("GET", f"/api/events?token={page.token}")
        self.response = self.connection.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type").startswith("text/event-stream")

    def next_state(self) -> dict:
        kind, data = None, None
        while True:
            line = self.response.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and kind == "state":
                return json.loads(data)

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def served(tmp_path):
    """A server over a state that no watcher changes (the tests change it), for the config moons.yaml."""
    config = tmp_path / "moons.yaml"
    config.write_text(MOONS)
    state = LiveState(config, ["fit.epochs"])
    server, thread = start_server(LiveApp(state, TOKEN, config, ["fit.epochs=2"]), "127.0.0.1", 0)
    yield Page(f"http://127.0.0.1:{server.server_address[1]}"), state, config
    state.close()
    server.shutdown()
    server.server_close()
    thread.join()


def test_every_request_needs_the_token_and_no_log_shows_it(served, capfd):
    page, state, config = served
    assert page.call("GET", "/api/state", token=None)[0] == 403
    assert page.call("GET", "/api/state", headers={"Authorization": "token wrong"}, token=None)[0] == 403
    assert page.call("GET", "/api/state?token=wrong", token=None)[0] == 403
    assert page.call("GET", "/app.js", token=None)[0] == 403
    assert page.call("POST", "/api/config", {"text": "x: 1\n"}, token=None)[0] == 403
    assert config.read_text() == MOONS
    assert page.call("GET", "/api/state", token="query")[0] == 200
    assert page.call("GET", "/api/state", token="header")[0] == 200
    status, html, response = page.call("GET", "/", token="query")
    assert status == 200 and f'src="/app.js?token={TOKEN}"' in html and "{{token}}" not in html
    assert "default-src 'self'" in response.getheader("Content-Security-Policy")
    for name in ("/", "/app.js", "/style.css"):  # nothing loaded from elsewhere: the page works offline
        status, content, _ = page.call("GET", name, token="query")
        assert status == 200 and set(re.findall(r"https?://[^\s\"'`)]+", content)) <= {SVG_NAMESPACE}
    assert page.call("GET", "/nowhere")[0] == 404
    captured = capfd.readouterr()
    assert TOKEN not in captured.out + captured.err


def test_the_state_says_what_the_page_shows(served):
    page, state, _ = served
    assert page.state()["status"] == "waiting" and page.state()["run_dir"] is None
    state.saved(MOONS)
    state.started("runs/moons-1", 6)
    state.epoch_ended(1, {"loss": 0.7, "val_loss": 0.75, "accuracy": 0.5})
    state.epoch_ended(2, {"loss": 0.5, "val_loss": float("nan"), "accuracy": 0.7})
    shown = page.state()
    assert {key: shown[key] for key in ("status", "run_dir", "epoch", "epochs")} == \
        {"status": "training", "run_dir": "runs/moons-1", "epoch": 2, "epochs": 6}
    assert shown["history"] == {"loss": [0.7, 0.5], "val_loss": [0.75, "nan"], "accuracy": [0.5, 0.7]}
    assert shown["config"]["sha256"] == hashlib.sha256(MOONS.encode()).hexdigest()
    assert shown["controls"]["epochs"]["set_by_option"] and shown["errors"] == [] and shown["verdict"] is None


def test_a_page_opened_during_training_gets_the_run_so_far_and_every_page_the_same_changes(served):
    page, state, _ = served
    state.started("runs/moons-1", 6)
    for epoch in (1, 2, 3):
        state.epoch_ended(epoch, {"loss": 1 / epoch})
    reopened, other = page.events(), page.events()
    try:
        first = reopened.next_state()
        assert first["epoch"] == 3 and first["history"] == {"loss": [1.0, 0.5, 0.3333333]}  # 7 digits: a float32's
        assert other.next_state() == first
        state.epoch_ended(4, {"loss": 0.25})
        after = reopened.next_state()
        assert after["epoch"] == 4 and after["version"] > first["version"]
        assert other.next_state() == after
    finally:
        reopened.close()
        other.close()


def test_a_save_is_written_only_when_validate_accepts_it(served):
    page, _, config = served
    folder = config.parent
    os.chmod(config, 0o640)
    assert page.call("POST", "/api/config", b"not json")[0] == 400
    assert page.call("POST", "/api/config", {"txt": MOONS})[0] == 400
    status, answer, _ = page.call("POST", "/api/config", {"text": INVALID})
    assert status == 422 and not answer["saved"]
    assert [(error["path"], error["line"]) for error in answer["errors"]] == [("model.layers[0].units", 5)]
    assert config.read_text() == MOONS and sorted(path.name for path in folder.iterdir()) == ["moons.yaml"]
    commented = MOONS.replace("name: moons", "name: moons   # a comment of mine")
    status, answer, _ = page.call("POST", "/api/config", {"text": commented,
                                                         "base": hashlib.sha256(MOONS.encode()).hexdigest()})
    assert status == 200 and answer["saved"] and answer["sha256"] == hashlib.sha256(commented.encode()).hexdigest()
    assert config.read_text() == commented and (config.stat().st_mode & 0o777) == 0o640
    status, answer, _ = page.call("POST", "/api/config", {"text": MOONS,
                                                         "base": hashlib.sha256(MOONS.encode()).hexdigest()})
    assert status == 409 and answer["text"] == commented and config.read_text() == commented
    config.write_bytes(MOONS.replace("\n", "\r\n").encode())
    assert page.call("POST", "/api/config", {"text": commented})[0] == 200
    assert config.read_bytes() == commented.replace("\n", "\r\n").encode()  # the file's own line endings


def test_a_control_edit_returns_the_new_text_and_its_line_without_saving(served):
    page, _, config = served
    status, answer, _ = page.call("POST", "/api/edit", {"text": MOONS,
                                                       "edit": {"set": "model.layers[0].units", "value": 17}})
    assert status == 200 and answer["line"] == 5 and answer["description"] == "model.layers[0].units: 16 → 17"
    assert answer["text"] == edited(MOONS, ("units: 16", "units: 17"))
    assert answer["controls"]["layers"][0]["units"] == 17 and config.read_text() == MOONS
    status, answer, _ = page.call("POST", "/api/edit", {"text": MOONS, "edit": {"set": "fit.epochs", "value": 9}})
    assert status == 422 and "set by --set" in answer["errors"][0]["message"]
    assert page.call("POST", "/api/edit", {"text": MOONS, "edit": {"remove_layer": 2}})[0] == 422
    status, answer, _ = page.call("POST", "/api/edit", {"text": edited(MOONS, ("units: 16", "units: 20"))})
    assert status == 200 and answer["line"] is None and answer["controls"]["layers"][0]["units"] == 20


def test_a_port_in_use_is_a_clear_error_with_a_free_one_suggested(tmp_path):


    config = tmp_path / "moons.yaml"
    config.write_text(MOONS)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("watch", config, "--serve", "--port", port, "--no-browser")
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.output and "--port " in result.output
    suggested = int(result.output.split("--port ")[-1].split()[0].rstrip("."))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", suggested))  # it was free
    wrong = invoke("watch", config, "--port", "9000")
    assert wrong.exit_code == 2 and "go with --serve" in wrong.output


def serving(config: Path, overrides=()):
    """serve_watch in a thread, as `nnlearn watch CONFIG --serve --port 0` runs it: (Page, stop, thread)."""
    from nnlearn.cli.display import EpochProgress

    console = Console(file=StringIO(), width=200)
    stop = threading.Event()
    def nothing(*arguments) -> None:  # the terminal's part is not what these tests read
        pass

    shown = Shown(nothing, nothing, nothing, EpochProgress(console, quiet=True), console, console)
    options = ServeOptions(port=0, open_browser=False)
    thread = threading.Thread(target=serve_watch, args=(config, list(overrides), options, shown),
                              kwargs={"stop": stop}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while "Live page: " not in console.file.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    address = console.file.getvalue().split("Live page: ")[1].split()[0]
    return Page(address, address.split("token=")[1]), stop, thread


def finished_runs(state: dict) -> int:
    return sum(run["status"] == "finished" for run in state["runs"])


@pytest.mark.tensorflow
def test_twenty_saves_in_a_second_retrain_once_on_the_last(write_config):
    config = write_config(MOONS)
    page, stop, thread = serving(config)
    try:
        first = page.wait_for(lambda state: finished_runs(state) == 1 and state["status"] == "waiting")
        assert first["verdict"] is not None and first["test"]["accuracy"] > first["baseline"]["accuracy"]
        rates = [f"{(index + 1) / 1000:g}" for index in range(20)]
        started = time.monotonic()
        for rate in rates:
            saved = page.call("POST", "/api/config", {"text": edited(MOONS, ("learning_rate: 0.01",
                                                                             f"learning_rate: {rate}"))})
            assert saved[0] == 200
        burst = time.monotonic() - started
        page.wait_for(lambda state: finished_runs(state) == 2 and state["status"] == "waiting")
        time.sleep(1.5)  # more than the watcher waits for a burst to end: another run would have begun
        after = page.state()
    finally:
        stop.set()
        thread.join(60)
    statuses = [run["status"] for run in after["runs"]]
    assert statuses == ["finished", "finished"], f"{statuses} after twenty saves in {burst:.2f} s"
    assert after["status"] == "waiting"
    assert after["runs"][1]["changes"] == [{"key": "compile.optimizer.learning_rate", "before": 0.01, "after": 0.02}]
    assert "learning_rate: 0.02" in (Path(after["run_dir"]) / "config.yaml").read_text()
    assert after["history"]["loss"] and len(after["history"]["loss"]) == 6
    assert after["picture"]["epoch"] == 6 and len(after["picture"]["units"]) == 16


@pytest.mark.tensorflow
def test_a_diverging_run_shows_its_diagnosis_and_watching_goes_on(write_config):
    config = write_config(DIVERGES)
    page, stop, thread = serving(config)
    try:
        failed = page.wait_for(lambda state: state["failure"] is not None)
        page.call("POST", "/api/config", {"text": edited(DIVERGES, ("learning_rate: 100", "learning_rate: 0.01"))})
        fixed = page.wait_for(lambda state: finished_runs(state) == 1 and state["status"] == "waiting")
    finally:
        stop.set()
        thread.join(60)
    assert failed["status"] == "waiting" and failed["runs"][0]["status"] == "failed"
    assert "NaN" in failed["failure"]["problems"][0]["message"]
    assert failed["verdict"]["kind"] == "diverged"
    assert [run["status"] for run in fixed["runs"]] == ["failed", "finished"]
    assert fixed["failure"] is None and fixed["verdict"]["kind"] != "diverged"
    assert set(fixed["picture"]) >= {"truth", "predicted", "split"}  # regression: predicted against true


@pytest.mark.tensorflow
@pytest.mark.slow
def test_ctrl_c_during_a_run_stops_server_and_watcher_with_the_run_folder_complete(write_config, workdir):
    config = write_config(edited(MOONS, ("epochs: 6", "epochs: 100000")))
    # a test run started in the background inherits an ignored SIGINT: give the command a normal one
    process = subprocess.Popen([sys.executable, "-m", "nnlearn", "watch", str(config), "--serve", "--port", "0",
                                "--no-browser"], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=ctrl_c_as_a_terminal_leaves_it)
    watchdog = threading.Timer(300, process.kill)  # a server that never answers fails the test, never hangs it
    watchdog.start()
    try:
        line = process.stdout.readline()
        assert line.startswith("Live page: http://127.0.0.1:"), line
        address = line.split()[-1]
        page = Page(address, address.split("token=")[1])
        assert page.call("GET", "/api/state", token=None)[0] == 403
        training = page.wait_for(lambda state: state["status"] == "training" and state["epoch"] >= 1)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=240)
    finally:
        watchdog.cancel()
        process.kill()
    assert process.returncode == 0, stderr
    assert "stopped the run" in stderr and "nnlearn train --resume" in stderr
    run_dir = workdir / training["run_dir"]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted" and record["epochs"] >= 1
    assert (run_dir / "checkpoint" / "checkpoint.npz").is_file()  # `nnlearn train --resume` continues it
    token = page.token
    assert token not in stdout + stderr.replace(line, "")
    assert not [path for path in run_dir.rglob("*") if path.is_file() and token.encode() in path.read_bytes()]
    with pytest.raises(OSError):
        socket.create_connection((page.host, page.port), timeout=2).close()


def test_another_host_is_allowed_with_a_warning_and_help_needs_no_tensorflow(tmp_path):
    config = tmp_path / "moons.yaml"
    config.write_text(MOONS)
    console = Console(file=StringIO(), width=200)
    stopped = threading.Event()
    stopped.set()  # nothing is trained: the server starts, says where, and stops

    def nothing(*arguments) -> None:
        pass

    serve_watch(config, [], ServeOptions(host="0.0.0.0", port=0, open_browser=False),
                Shown(nothing, nothing, nothing, None, console, console), stop=stopped)
    said = console.file.getvalue()
    assert "warning: listening on 0.0.0.0, not only on this machine" in said
    assert "Live page: http://127.0.0.1:" in said and "stopped watching and serving the page" in said
    local = Console(file=StringIO(), width=200)
    serve_watch(config, [], ServeOptions(port=0, open_browser=False),
                Shown(nothing, nothing, nothing, None, local, local), stop=stopped)
    assert "warning" not in local.file.getvalue()
    code = ("import sys; from typer.testing import CliRunner; from nnlearn.cli.app import app; "
            "r = CliRunner().invoke(app, ['watch', '--help']); assert r.exit_code == 0, r.output; "
            "assert '--serve' in r.output and '--no-browser' in r.output; assert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.tensorflow
def test_a_standardised_targets_predictions_are_drawn_in_its_own_units_as_its_truth():
    """A model whose every weight is 0 outputs 0 in standard units: in y's own units, the training mean."""
    import numpy as np

    from nnlearn.config.loading import config_from_text
    from nnlearn.model.build import build_model
    from nnlearn.model.prepare import prepare
    from nnlearn.workflows.live.pictures import picture
    from tests.configs import LINEAR_REGRESSION

    prepared = prepare(config_from_text(edited(LINEAR_REGRESSION, ("n_features: 3}",
                                                                   "n_features: 3, standardize_target: true}"))))
    model = build_model(prepared.config, prepared.input_shape)
    model.set_weights([np.zeros_like(weights) for weights in model.get_weights()])
    shown = picture(model, prepared, epoch=0)
    mean = float(np.mean(prepared.splits.train.y))
    assert abs(mean) > 1 and shown["predicted"] == pytest.approx([mean] * len(shown["predicted"]), abs=1e-3)

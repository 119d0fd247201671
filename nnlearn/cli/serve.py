"""`nnlearn watch CONFIG --serve`: the retrain-on-save loop of `watch` and the live page, in one process.

The server listens before anything is trained (so a port in use is reported at once), answers from its
own threads while the watcher trains in the main thread (where Ctrl-C arrives), and stops with it.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import webbrowser
from dataclasses import dataclass
from pathlib import Path

from nnlearn.cli.display import print_wrapped
from nnlearn.config.loading import format_path, parse_path
from nnlearn.errors import ConfigError, DataError, Interrupted, NnlearnError
from nnlearn.workflows.live.server import LiveApp, start_server
from nnlearn.workflows.live.state import LiveProgress, LiveState

DEFAULT_PORT = 8765
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class ServeOptions:
    """Where the page is served, and whether a browser is opened on it."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    open_browser: bool = True


@dataclass
class Shown:
    """What the terminal shows of the watcher (the same as `watch` without --serve): its callbacks and its
    progress reporter, and the consoles for people and for errors."""

    on_run: object
    on_error: object
    on_changes: object
    progress: object
    people: object
    errors: object


def overridden_keys(overrides: list[str] | tuple) -> list[str]:
    """The config keys that --set gives (model.layers[0].units), written as the config's paths are."""
    keys = []
    for override in overrides:
        try:
            keys.append(format_path(parse_path(override.split("=", 1)[0].strip())))
        except ValueError:
            continue  # load_config reports it, with its fix
    return keys


def page_address(server, token: str) -> str:
    host, port = server.server_address[:2]
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"  # listening everywhere: this machine's own address reaches it too
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/?token={token}"


def _open_browser(address: str) -> None:
    """Open the page in the desktop's browser; on a Linux machine without a desktop, none (a text browser
    would take over the terminal the training is shown in)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return
    threading.Thread(target=webbrowser.open, args=(address,), name="open browser", daemon=True).start()


def _verdicts(run_dir) -> list:
    from nnlearn.insight.diagnose import diagnose_run
    from nnlearn.runs.rundir import RunDir

    try:
        return diagnose_run(RunDir(run_dir))
    except NnlearnError:
        return []  # a run whose files cannot be read back has no verdict; the terminal said why


def serve_watch(config: Path, overrides: list[str], options: ServeOptions, shown: Shown,
                max_runs: int | None = None, stop: threading.Event | None = None) -> None:
    """Serve the live page and watch config until Ctrl-C, max_runs runs or stop is set; a port in use raises
    NnlearnError before anything is trained."""
    from nnlearn.cli.process import ignore_further_interrupts
    from nnlearn.workflows.watch import watch

    state = LiveState(config, overridden_keys(overrides))
    app = LiveApp(state, secrets.token_urlsafe(32), config, overrides)
    server, thread = start_server(app, options.host, options.port)
    if options.host not in LOCAL_HOSTS:
        print_wrapped(shown.errors, "[yellow]warning[/]: ", f"listening on {options.host}, not only on this "
                      "machine: anyone who can reach it and learns the token (sent unencrypted, over http) can "
                      "edit your config and train. Leave out --host to keep the page on this machine.", 2)
    address = page_address(server, app.token)
    shown.people.print(f"Live page: {address}", soft_wrap=True, highlight=False)  # one line, copied whole
    if options.open_browser:
        _open_browser(address)

    def run_done(retrained) -> None:
        shown.on_run(retrained)  # the terminal's report (and --json's line) first, as without --serve
        state.finished(retrained.run, retrained.diagnosis)  # watch's verdict, worked out once

    def error_seen(error) -> None:
        if isinstance(error, (ConfigError, DataError)):  # the save cannot be trained: its problems, at their lines
            state.invalid(error)
        else:  # a run that failed (a NaN loss): its message, and its diagnosis when it has a run folder
            state.failed(error, _verdicts(error.run_dir) if error.run_dir is not None else [])
        shown.on_error(error)

    def changes_seen(changes) -> None:
        state.changed(changes)
        shown.on_changes(changes)

    try:
        watch(config, overrides, on_run=run_done, on_error=error_seen, on_changes=changes_seen, on_save=state.saved,
              progress=LiveProgress(shown.progress, state), max_runs=max_runs, stop=stop)
    except KeyboardInterrupt:
        pass
    except Interrupted as stopped:  # Ctrl-C during a run: it stopped as `nnlearn train` stops, its folder kept
        for problem in stopped.problems:
            print_wrapped(shown.errors, "stopped the run: ", problem.message, 2)
            if problem.hint:
                print_wrapped(shown.errors, "  ", problem.hint, 2)
    finally:
        if threading.current_thread() is threading.main_thread():
            ignore_further_interrupts()  # stopping now; a second Ctrl-C changes nothing
        state.close()
        server.shutdown()
        server.server_close()
        thread.join()
    shown.errors.print("stopped watching and serving the page")

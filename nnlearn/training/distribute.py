"""Data-parallel training on tf.distribute: the same config on several devices or machines.

Data parallelism is averaging gradients: every replica holds a copy of the weights, computes the
gradient of its share of the global batch (fit.batch_size), the strategy sums the shares' gradients
(each already divided by the number of replicas), and every replica applies the same update.

- `none`: one process, one device (TrainingSteps' own single-process path, unchanged).
- `mirrored`: one process, several devices (all local GPUs, or fit.devices logical CPU devices).
- `multi_worker`: one process per machine, described by TF_CONFIG (the standard TensorFlow way);
  `nnlearn train CONFIG --workers N` starts N such processes on this machine, on loopback ports.

Only the chief (worker 0) writes the run directory and shows progress; the other workers train
into a temporary folder that is removed when they exit. This module imports TensorFlow only in
the functions that build a strategy.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nnlearn.config.loading import load_config
from nnlearn.config.schema import Config
from nnlearn.errors import NnlearnError, RunError, WorkerLost
from nnlearn.runs.rundir import RunDir, free_run_path

HOST = "127.0.0.1"
# A peer that stops answering is declared lost after about HEALTH_SECONDS * (1 + 3 tries).
HEALTH_SECONDS = 2
# How long workers wait for each other at the start before giving up.
STARTUP_SECONDS = 300
# After a worker dies, how long the launcher lets the others notice and stop by themselves.
GRACE_SECONDS = 20


@dataclass
class Cluster:
    """This process's place in a multi-worker cluster, read from TF_CONFIG."""

    workers: list[str]
    task_type: str
    index: int
    address: str = ""  # this task's HOST:PORT

    @property
    def size(self) -> int:
        return len(self.workers)

    @property
    def is_chief(self) -> bool:
        """The chief writes the run directory: a task of type chief, or worker 0 when there is none."""
        return self.task_type == "chief" or (self.task_type == "worker" and self.index == 0)


def tf_config_for(workers: list[str], index: int) -> str:
    """The TF_CONFIG of worker `index` in a cluster of `workers` (HOST:PORT each)."""
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def cluster_from_option(cluster: str, task_index: int | None) -> str:
    """TF_CONFIG from `--cluster HOST:PORT,HOST:PORT --task-index I`."""
    workers = [address.strip() for address in cluster.split(",") if address.strip()]
    for address in workers:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise NnlearnError(f"{address!r} is not HOST:PORT.", path="--cluster",
                               hint="e.g. --cluster 10.0.0.1:12345,10.0.0.2:12345 --task-index 0")
    if task_index is None or not 0 <= task_index < len(workers):
        raise NnlearnError(f"--task-index must be this machine's place in --cluster, 0 to {len(workers) - 1} "
                           f"(received: {task_index}).", path="--task-index",
                           hint="give each machine the same --cluster and its own --task-index; 0 is the chief.")
    return tf_config_for(workers, task_index)


def read_cluster(environ=os.environ) -> Cluster | None:
    """This process's Cluster from the TF_CONFIG environment variable; None when it is not set."""
    text = environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    fix = ('e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
           '"task": {"type": "worker", "index": 0}}\'')
    try:
        value = json.loads(text)
    except ValueError as error:
        raise NnlearnError(f"TF_CONFIG is not JSON ({error}).", path="TF_CONFIG", hint=fix) from None
    try:
        cluster, task = value["cluster"], value["task"]
        workers = [str(address) for address in cluster.get("chief", []) + cluster["worker"]]
        task_type, index = str(task["type"]), task["index"]
    except (KeyError, TypeError, AttributeError):
        raise NnlearnError("TF_CONFIG needs a cluster with a worker list and this process's task (type and "
                           "index).", path="TF_CONFIG", hint=fix) from None
    if task_type not in ("chief", "worker") or not isinstance(index, int) or index < 0:
        raise NnlearnError(f"TF_CONFIG's task must be a chief or a worker with an index (received: {task}).",
                           path="TF_CONFIG", hint=fix)
    if task_type == "worker" and index >= len(cluster["worker"]):
        raise NnlearnError(f"TF_CONFIG's task index {index} is not in its worker list of "
                           f"{len(cluster['worker'])}.", path="TF_CONFIG", hint=fix)
    chiefs = cluster.get("chief", [])
    address = chiefs[index] if task_type == "chief" and index < len(chiefs) else workers[len(chiefs) + index] \
        if task_type == "worker" else ""
    return Cluster(workers, task_type, index, str(address))


def check_setup(config: Config) -> Cluster | None:
    """What fit.distribute needs, checked before any folder is made or TensorFlow imported."""
    if config.fit.distribute != "multi_worker":
        return None
    cluster = read_cluster()
    if cluster is None:
        raise NnlearnError("fit.distribute is multi_worker, but TF_CONFIG is not set: nnlearn does not know "
                           "the other workers.", path="fit.distribute",
                           hint="on one machine: nnlearn train CONFIG --workers 2; on several: set TF_CONFIG "
                                "or give --cluster HOST:PORT,... --task-index I on each (see the README).")
    check_batch_size(config, cluster.size, f"{cluster.size} workers")
    return cluster


def check_batch_size(config: Config, replicas: int, what: str) -> None:
    if config.fit.batch_size % replicas:
        share = config.fit.batch_size // replicas or 1
        raise NnlearnError(f"fit.batch_size {config.fit.batch_size} does not divide among {what}: each replica "
                           "takes an equal share of the global batch.", path="fit.batch_size",
                           hint=f"use a multiple of {replicas}, e.g. fit.batch_size={share * replicas} or "
                                f"{(share + 1) * replicas}.")


def is_chief(config: Config) -> bool:
    cluster = read_cluster() if config.fit.distribute == "multi_worker" else None
    return cluster is None or cluster.is_chief


def writes_its_run() -> bool:
    """Whether this process writes the run it trains: yes, unless TF_CONFIG makes it a worker other than
    the chief (those train into a temporary copy)."""
    cluster = read_cluster()
    return cluster is None or cluster.is_chief


_chief_run_dir: Path | None = None  # in a worker other than the chief: the run the chief writes


def run_dir_of_this_worker(config: Config, out):
    """Where this process writes its run: `out` for the chief, a temporary folder for the others."""
    global _chief_run_dir
    if is_chief(config):
        return out
    _chief_run_dir = Path(out) if out is not None else None
    return _temporary_folder() / "run"


def shown_run_dir(run_dir) -> Path:
    """The run folder a message names: the chief's in every worker, never a worker's own temporary copy
    (removed when the worker exits, so a fix naming it would point nowhere)."""
    return _chief_run_dir if _chief_run_dir is not None else Path(run_dir)


def resumable_copy(run_dir: RunDir) -> RunDir:
    """A worker other than the chief resumes from a copy of the chief's run directory (it reads the same
    checkpoint but never writes the chief's files)."""
    global _chief_run_dir
    _chief_run_dir = run_dir.path
    copy = run_dir.copy(_temporary_folder() / "run")
    record = copy.record()
    record["pid"] = None  # the chief may already be resuming the original
    copy.write_record(record)
    return copy


def _temporary_folder() -> Path:
    from nnlearn.files import temporary_folder

    return temporary_folder("nnlearn-worker-")


def make_strategy(config: Config):
    """The tf.distribute strategy of fit.distribute, or None for `none`. Call it before anything else
    touches TensorFlow's devices: logical CPU devices cannot be added later."""
    kind = config.fit.distribute
    if kind == "none":
        return None
    from nnlearn.model.build import tf

    if kind == "mirrored":
        devices = _mirrored_devices(tf, config)
        strategy = tf.distribute.MirroredStrategy(devices)
    else:
        check_setup(config)
        from tensorflow.python.distribute.collective_all_reduce_strategy import CollectiveAllReduceExtended as extended

        # lose a dead peer within seconds instead of minutes, and never wait forever for the cluster
        extended._check_health_interval = HEALTH_SECONDS
        extended._check_health_timeout = HEALTH_SECONDS
        extended._check_health_initial_timeout = STARTUP_SECONDS
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING)
        try:
            strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
        except RuntimeError as error:
            raise WorkerLost(f"the workers of TF_CONFIG did not all start within {STARTUP_SECONDS} s "
                             f"({error}).", hint="start nnlearn on every machine of the cluster, "
                                                 "each with its own task index.") from None
        except tf.errors.OpError as error:
            cluster = read_cluster()
            raise WorkerLost(f"this worker could not start its server on {cluster.address} "
                             f"({error.message}).", path="TF_CONFIG",
                             hint="check that the port is free (another program may hold it) and that the "
                                  "address is this machine's; with --workers, start it again.") from None
    check_batch_size(config, strategy.num_replicas_in_sync, f"{strategy.num_replicas_in_sync} replicas")
    return strategy


def _mirrored_devices(tf, config: Config) -> list[str]:
    """All local GPUs; without GPUs, fit.devices logical CPU devices (to try data parallelism anywhere)."""
    gpus = tf.config.list_physical_devices("GPU")
    wanted = config.fit.devices
    if gpus:
        count = len(gpus) if wanted is None else wanted
        if count > len(gpus):
            raise NnlearnError(f"fit.devices is {wanted}, but this machine has {len(gpus)} GPUs.",
                               path="fit.devices", hint=f"set fit.devices to at most {len(gpus)}, or leave it "
                                                        "out to use them all.")
        return [f"/gpu:{index}" for index in range(count)]
    if wanted is None:
        raise NnlearnError("fit.distribute is mirrored, but this machine has no GPU to mirror on.",
                           path="fit.distribute", hint="set fit.devices: 2 to split each batch between 2 "
                                                       "logical CPU devices, or fit.distribute: none.")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * wanted)
    except RuntimeError:  # devices already initialised in this process: usable only if they match
        if len(tf.config.list_logical_devices("CPU")) != wanted:
            raise NnlearnError(f"fit.devices {wanted} logical CPU devices must be set up before TensorFlow "
                               "starts, and this process already started it.", path="fit.devices",
                               hint="train it in a fresh process: nnlearn train CONFIG") from None
    return [f"/cpu:{index}" for index in range(wanted)]


def describe(strategy, config: Config) -> dict:
    """What run.json and the report say about how the run was spread: strategy, replicas, workers."""
    cluster = read_cluster() if config.fit.distribute == "multi_worker" else None
    return {"strategy": config.fit.distribute, "replicas": strategy.num_replicas_in_sync,
            "workers": cluster.size if cluster else 1, "batch_size": config.fit.batch_size,
            "per_replica_batch_size": config.fit.batch_size // strategy.num_replicas_in_sync}


@contextmanager
def lost_workers_stop(strategy, run_dir: Path):
    """Under multi_worker, a collective operation that fails because a peer died (or restarted) becomes
    WorkerLost: a message and the resume command instead of TensorFlow's traceback."""
    from nnlearn.model.build import tf

    lost = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
            tf.errors.AbortedError, tf.errors.InternalError, tf.errors.FailedPreconditionError)
    try:
        yield
    except lost as error:
        if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            raise
        run_dir = shown_run_dir(run_dir)
        raise WorkerLost(f"another worker stopped answering ({type(error).__name__} in a collective "
                         "operation); training stopped. The checkpoint of "
                         f"the last complete epoch is kept in {run_dir}.",
                         hint=f"start every worker again with --resume: nnlearn train --resume {run_dir} "
                              "--workers N on one machine, or the same TF_CONFIG on each.") from None


def free_ports(count: int) -> list[int]:
    """Ports free on the loopback interface now (the system picks them: bind to port 0). TensorFlow's
    server cannot share a port, so they are released before the workers bind them."""
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            handle.bind((HOST, 0))
            sockets.append(handle)
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


@dataclass
class Launch:
    """How `nnlearn train --workers N` starts its workers: the arguments every worker gets after
    `nnlearn train`, the chief's extra ones, and the run directory they agree on."""

    arguments: list[str]
    chief_arguments: list[str]
    workers: int
    run_dir: Path


def plan_local(config: Path | None, resume: Path | None, from_run: Path | None, overrides: list[str],
               out: Path | None, workers: int) -> Launch:
    """What `nnlearn train ... --workers N` starts: checked here (config, batch shares, a free run
    directory) so that a mistake is reported once, before any worker starts."""
    if resume is not None:
        saved = RunDir.open(resume).config()
        if saved.fit.distribute != "multi_worker":
            raise NnlearnError(f"{resume} was trained with fit.distribute: {saved.fit.distribute}; resuming it on "
                               "workers would change how it trains.", path="--workers",
                               hint=f"resume it as it was trained: nnlearn train --resume {resume}")
        check_batch_size(saved, workers, f"{workers} workers")
        return Launch(["--resume", str(resume)], [], workers, resume)
    if from_run is not None:
        source, path = ["--from", str(from_run)], RunDir.open(from_run).config_file
    elif config is None:
        raise NnlearnError("give a CONFIG to train on the workers, --from RUN_DIR, or --resume RUN_DIR.",
                           hint="e.g. nnlearn train configs/iris_softmax.yaml --workers 2")
    else:
        source, path = [str(config)], config
    if load_config(path, overrides).fit.distribute == "mirrored":
        raise NnlearnError("fit.distribute is mirrored (one process, several devices), but --workers starts "
                           "one process per worker.", path="fit.distribute",
                           hint="leave out --workers for mirrored, or --set fit.distribute=multi_worker.")
    overrides = overrides + ["fit.distribute=multi_worker"]
    loaded = load_config(path, overrides)
    check_batch_size(loaded, workers, f"{workers} workers")
    if out is not None:
        run_dir = Path(out)
    else:
        run_dir = free_run_path(loaded.name)
    if run_dir.exists():
        raise RunError(f"{run_dir} already exists; nnlearn never overwrites a run.", path="--out",
                       hint="choose a new --out, or leave --out out for runs/<name>-<time>.")
    arguments = source + [f"--set={override}" for override in overrides] + [f"--out={run_dir}"]
    return Launch(arguments, [], workers, run_dir)


def launch_local(launch: Launch, errors) -> int:
    """Start launch.workers processes on loopback ports, each with its TF_CONFIG; the chief (worker 0)
    shows its progress here, the others write to log files shown only if they fail. Waits for all of
    them; when one dies, the others are stopped within GRACE_SECONDS plus a few. Ctrl-C and SIGTERM
    are passed on to every worker. Returns the exit code (the chief's, or the first failure's)."""
    addresses = [f"{HOST}:{port}" for port in free_ports(launch.workers)]
    # the workers' logs and, as their TMPDIR, every temporary file they make (TensorFlow's autograph files,
    # a worker's copy of the run): removed here when they have ended, however they ended
    logs = Path(tempfile.mkdtemp(prefix="nnlearn-workers-"))
    processes = []
    previous = {}

    def pass_on(signum, frame):
        for process in processes:
            if process.poll() is None:
                process.send_signal(signum)

    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, pass_on)
    try:
        for index in range(launch.workers):
            (logs / f"tmp-{index}").mkdir()
            environment = {**os.environ, "TF_CONFIG": tf_config_for(addresses, index),
                           "TMPDIR": str(logs / f"tmp-{index}")}
            command = [sys.executable, "-m", "nnlearn", "train", *launch.arguments]
            if index == 0:
                processes.append(subprocess.Popen(command + launch.chief_arguments, env=environment,
                                                  start_new_session=True))
            else:
                with open(logs / f"worker-{index}.log", "wb") as log:
                    processes.append(subprocess.Popen(command + ["--quiet", "--no-plots"], env=environment,
                                                      stdout=log, stderr=subprocess.STDOUT,
                                                      stdin=subprocess.DEVNULL, start_new_session=True))
        return _wait_for_workers(processes, logs, launch, errors)
    finally:
        for process in processes:
            _stop(process)
        for number, handler in previous.items():
            signal.signal(number, handler)
        shutil.rmtree(logs, ignore_errors=True)


def _wait_for_workers(processes, logs: Path, launch: Launch, errors) -> int:
    failed_at = None
    while True:
        running = [process.poll() is None for process in processes]
        failures = [(index, process.returncode) for index, process in enumerate(processes)
                    if process.returncode not in (None, 0)]
        if failures and failed_at is None:  # also when every worker ended within one look
            failed_at = time.monotonic()
            index, code = first_cause(failures)
            errors.print(f"[red]worker {index} stopped[/] ({exit_words(code)}); the other workers stop too.")
            _show_log(logs, index, errors)
        if not any(running):
            break
        if failed_at is not None and time.monotonic() - failed_at > GRACE_SECONDS:
            break  # the survivors did not notice in time: _stop ends them
        time.sleep(0.1)
    for process in processes:
        _stop(process)
    codes = [process.returncode for process in processes]
    if codes[0] != 0 or any(codes):
        if RunDir(launch.run_dir).has_record():
            errors.print(f"continue with: nnlearn train --resume {launch.run_dir} --workers {launch.workers}",
                         soft_wrap=True)  # one line, to copy
        return codes[0] if codes[0] not in (0, None) else next(code for code in codes if code)
    return 0


def first_cause(failures: list[tuple[int, int]]) -> tuple[int, int]:
    """Of the workers that failed (index, exit code), the one that most likely stopped the rest: one
    killed by a signal (the others then fail with exit 1 when it stops answering), else the first."""
    return next((failure for failure in failures if failure[1] < 0), failures[0])


def exit_words(code: int) -> str:
    """A worker's exit code as a person reads it: "exit 1", or "killed by SIGKILL"."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def _show_log(logs: Path, index: int, errors) -> None:
    from rich.markup import escape

    if index == 0:
        return  # the chief's output was shown as it came
    path = logs / f"worker-{index}.log"
    text = path.read_text(errors="replace").strip() if path.is_file() else ""
    lines = [line for line in text.splitlines() if line.strip()][-8:]
    if lines:
        errors.print(f"worker {index} said:\n" + escape("\n".join(lines)))


def _stop(process, patience: float = 5.0) -> None:
    """End a worker still running: SIGTERM, then SIGKILL (a worker blocked in a collective operation may
    not get back to Python to answer SIGTERM)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(patience)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

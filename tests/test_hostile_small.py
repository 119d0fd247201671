"""Small things that were silently wrong or unclear: settings a source never reads, configs smoke skipped,
a run folder given as a config, a width of 0 columns, a model file a full disk cut short, a CSV cut short
since a run started, a bad number named by its file line, and the checkpoint's size."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from nnlearn.runs import lock
from nnlearn.runs.checkpoint import load_checkpoint, save_checkpoint
from nnlearn.runs.rundir import RunDir
from tests.conftest import flat, invoke
from tests.configs import TABLE, TINY



@pytest.mark.parametrize("override, named", [("data.target=species", "data.target"),
                                             ("data.ignore=[petal]", "data.ignore"),
                                             ("data.missing=drop", "data.missing")])
def test_a_csv_setting_on_a_bundled_dataset_is_refused_not_dropped(write_config, override, named):
    result = invoke("validate", write_config(TINY), "--set", override)
    assert result.exit_code == 2
    assert f"{named} names a CSV file's columns; data.source iris is a bundled dataset" in flat(result)
    assert f"fix: remove {named}" in flat(result)


def test_smoke_names_a_broken_link_and_a_fifo_instead_of_skipping_them(workdir):
    (workdir / "configs").mkdir()
    os.symlink("nowhere.yaml", workdir / "configs" / "broken.yaml")
    os.mkfifo(workdir / "configs" / "pipe.yaml")
    result = invoke("smoke", "configs")
    assert result.exit_code == 2
    assert "invalid configs/broken.yaml" in flat(result) and "invalid configs/pipe.yaml" in flat(result)
    assert "not a regular file" in flat(result)


def test_a_run_folder_given_as_the_config_names_resume_and_from(workdir, write_config):
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.training.train import start_run_dir

    path = write_config(TINY)
    with lock.held():
        run = start_run_dir(prepare(load_config(path), workdir), "runs/done")
    for command in ("train", "validate"):
        result = invoke(command, run)
        assert result.exit_code == 2
        assert "is a run folder, made by `nnlearn train`, not a config" in flat(result)
        assert f"nnlearn train --resume {run}" in flat(result) and f"nnlearn train --from {run}" in flat(result)


@pytest.mark.parametrize("columns", ["0", "1", "-4"])
def test_a_width_of_no_columns_still_shows_every_message(columns):
    result = invoke("validate", "missing.yaml", env={"COLUMNS": columns})
    assert result.exit_code == 2 and "the config file does not exist" in flat(result)


def test_a_full_disk_while_saving_the_model_names_the_model_file(tmp_path):
    class Model:
        def save(self, path):
            raise OSError(28, "No space left on device")  # as Keras' zip writer raises it: no file name

    run = RunDir(tmp_path)
    with lock.held(), pytest.raises(OSError) as caught:
        run.save_model(Model())
    assert caught.value.filename == str(tmp_path / "model.keras") and caught.value.errno == 28


def test_a_csv_cut_short_since_the_run_started_is_named_as_changed_data(write_config, workdir):
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.training.train import start_run_dir

    rows = "".join(f"{row % 7},{row % 5},{row % 2}\n" for row in range(60))
    (workdir / "table.csv").write_text("a,b,y\n" + rows)
    path = write_config(TABLE)
    with lock.held():
        run = start_run_dir(prepare(load_config(path), workdir), "runs/cut")
    record = json.loads(run.record_file.read_text())
    run.record_file.write_text(json.dumps({**record, "status": "interrupted"}))
    text = (workdir / "table.csv").read_text()
    (workdir / "table.csv").write_text(text[:len(text) // 2].rsplit(",", 1)[0])  # cut mid-row
    result = invoke("train", "--resume", run.path)
    assert result.exit_code == 2
    assert "changed since runs/cut was trained, and can no longer be read as it was" in flat(result)
    assert "cells; the header has 3" in flat(result)  # how it fails now, said after what happened
    assert "put the original table.csv back" in flat(result)


def test_an_infinite_number_is_named_by_its_file_line(write_config, workdir):
    lines = ["a,b,y"] + [f"{row % 7},{row % 5},{row % 2}" for row in range(40)]
    lines[3] = "inf,1,0"
    (workdir / "table.csv").write_text("\n\n".join(lines) + "\n")  # a blank line after every line
    result = invoke("validate", write_config(TABLE))
    assert result.exit_code == 2 and "table.csv line 7: feature 'a' is inf" in flat(result)


def test_the_checkpoint_keeps_its_state_as_utf8_and_reads_the_old_utf32_one(tmp_path):
    history = [{"epoch": epoch, "loss": 1 / epoch, "val_loss": 2 / epoch} for epoch in range(1, 301)]
    run = RunDir(tmp_path)
    with lock.held():
        save_checkpoint(run, {"model_0": np.zeros(3, np.float32)}, history)
        with zipfile.ZipFile(run.checkpoint_file) as archive:
            state_bytes = archive.getinfo("__state__.npy").file_size
        text = json.dumps({"epoch": 300, "history": history, "early_stopping": None})
        assert state_bytes < len(text.encode("utf-8")) + 200  # one byte a character, not four
        assert load_checkpoint(run)["history"] == history
        buffer = io.BytesIO()
        np.savez(buffer, model_0=np.zeros(3, np.float32), __state__=np.array(text))  # as written before
        run.write_checkpoint(buffer.getvalue())
        assert load_checkpoint(run)["history"] == history

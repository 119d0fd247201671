"""Image folders that used to cost a whole run, or gigabytes: every image opened before anything trains
(validate names each one that cannot be used, without TensorFlow), pixel counts read from the header,
hidden files left out, BMP and GIF in grey, and TensorFlow's op names never shown."""

import io
import json

import numpy as np
import pytest

from nnlearn.data import images
from nnlearn.data.images import decode_files, image_files
from nnlearn.errors import DataError
from tests.conftest import flat, invoke
from tests.data.test_image_folders import FOLDER_CNN, write_pictures
from tests.files import png_claiming


def truncated_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()[:300]


def test_validate_names_every_image_it_cannot_read_without_tensorflow(workdir, write_config):
    write_pictures(workdir / "pics")
    (workdir / "pics" / "dark" / "2.png").write_bytes(b"not a png")
    (workdir / "pics" / "bright" / "3.png").write_bytes((workdir / "pics" / "bright" / "4.png").read_bytes()[:60])
    (workdir / "pics" / "bright" / "big.jpg").write_bytes(truncated_jpeg())
    result = invoke("validate", write_config(FOLDER_CNN))
    assert result.exit_code == 2
    text = flat(result)
    for name, fragment in (("dark/2.png", "it is not an image"), ("bright/3.png", "it is damaged"),
                           ("bright/big.jpg", "it is damaged")):
        assert f"pics/{name}: {fragment}" in text, text
    assert text.count("fix: remove it (or move it out of the folder)") == 3


def test_an_image_with_too_many_pixels_is_refused_from_its_header(workdir, write_config):
    write_pictures(workdir / "pics")
    (workdir / "pics" / "dark" / "huge.png").write_bytes(png_claiming(20_000, 20_000))
    result = invoke("validate", write_config(FOLDER_CNN))
    assert result.exit_code == 2
    assert "pics/dark/huge.png: it is 20,000 x 20,000 pixels, more than the 50,000,000" in flat(result)
    assert "fix: shrink it" in flat(result)


def test_a_folder_too_big_for_memory_once_decoded_is_refused_with_the_numbers(workdir, write_config, monkeypatch):
    import nnlearn.data.dataset as dataset

    write_pictures(workdir / "pics")
    monkeypatch.setattr(dataset, "available_memory", lambda: 1_000)
    result = invoke("validate", write_config(FOLDER_CNN))
    assert result.exit_code == 2 and "12 images of 8 x 8 x 1 needs about" in flat(result)
    assert "data.image_size" in result.output


def test_hidden_files_and_folders_are_no_images(workdir):
    write_pictures(workdir / "pics")
    good = (workdir / "pics" / "dark" / "0.png").read_bytes()
    (workdir / "pics" / "dark" / "._0.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (workdir / "pics" / "dark" / ".thumb.png").write_bytes(good)
    (workdir / "pics" / "dark" / ".cache").mkdir()
    (workdir / "pics" / "dark" / ".cache" / "1.png").write_bytes(good)
    found = [path.name for path in image_files(workdir / "pics" / "dark")]
    assert found == [f"{number}.png" for number in range(6)]


def test_an_image_that_cannot_be_read_at_predict_is_a_clear_error(workdir, monkeypatch):
    """A file without read permission (as a user without root's override meets it)."""
    from PIL import Image

    write_pictures(workdir / "pics")
    opened = Image.open

    def denied(path, *args, **kwargs):
        if str(path).endswith("3.png"):
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", denied)
    with pytest.raises(DataError) as caught:
        images.check_images(image_files(workdir / "pics"), workdir / "pics", "--input")
    assert [problem.message for problem in caught.value.problems] == [
        "pics/bright/3.png: it cannot be read: permission denied.", "pics/dark/3.png: it cannot be read: permission "
        "denied."]
    assert all(problem.path == "--input" for problem in caught.value.problems)


@pytest.mark.tensorflow
def test_tensorflows_op_names_never_reach_the_message(tmp_path):
    path = tmp_path / "cut.jpg"
    path.write_bytes(truncated_jpeg())
    with pytest.raises(DataError) as caught:
        decode_files([path], (8, 8), 3, "data.source")
    message = caught.value.message
    assert message.startswith(f"cannot read {path} as an image: ") and message.endswith(".")
    assert "{{" not in message and "function_node" not in message and "[Op:" not in message


@pytest.mark.tensorflow
@pytest.mark.parametrize("suffix", ["bmp", "gif"])
def test_bmp_and_gif_decode_in_grey(tmp_path, suffix):
    from PIL import Image

    from nnlearn.tensorflow_import import tf

    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[:, :4] = (200, 40, 10)
    pixels[:, 4:] = (10, 40, 200)
    path = tmp_path / f"stripes.{suffix}"
    Image.fromarray(pixels).save(path)
    decoded = decode_files([path], (8, 8), 1, "data.source").reshape(8, 8)
    colour = tf.io.decode_image(path.read_bytes(), channels=3, expand_animations=False)
    expected = tf.image.rgb_to_grayscale(colour).numpy()[..., 0].astype(np.float32)
    assert np.array_equal(decoded, expected)
    assert decoded[0, 0] != decoded[0, 7]  # two stripes, two greys


@pytest.mark.tensorflow
def test_an_image_only_tensorflow_refuses_stops_the_run_before_the_first_epoch(workdir, write_config, monkeypatch):
    write_pictures(workdir / "pics")
    (workdir / "pics" / "dark" / "5.png").write_bytes(truncated_jpeg())  # in whichever split it falls
    monkeypatch.setattr(images, "check_images", lambda files, top, field: None)  # as if Pillow had read it
    result = invoke("train", write_config(FOLDER_CNN), "--out", "run", "-q", "--no-plots")
    assert result.exit_code == 2, result.output
    text = flat(result)
    assert "5.png as an image" in text and "{{" not in text and "[Op:" not in text
    assert "No epoch was trained" in text and "nnlearn train --from run" in text
    assert not (workdir / "run" / "history.csv").exists()
    assert json.loads((workdir / "run" / "run.json").read_text())["status"] == "failed"

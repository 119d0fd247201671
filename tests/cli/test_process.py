"""How an nnlearn process meets a reader that leaves, and a Ctrl-C that lands where Python cannot raise it."""

import os
import subprocess
import sys

from nnlearn.cli.process import OutputWhoseReaderMayLeave
from tests.conftest import ctrl_c_as_a_terminal_leaves_it


def test_output_goes_quiet_when_its_reader_has_left():
    read_end, write_end = os.pipe()
    stream = open(write_end, "w")
    output = OutputWhoseReaderMayLeave(stream)
    output.write("first line\n")
    output.flush()
    assert os.read(read_end, 100) == b"first line\n"
    os.close(read_end)  # the reader leaves (`| head -1` has its line)
    assert output.write("x" * 100_000) == 100_000  # would raise BrokenPipeError on the stream itself
    output.flush()
    output.write("still going\n")
    stream.close()  # what was buffered went to /dev/null: closing meets no closed pipe either


CTRL_C_IN_A_FINALIZER = """
import time, types
from nnlearn.cli.process import quiet_at_shutdown
quiet_at_shutdown(types.SimpleNamespace(exc_value=KeyboardInterrupt(), exc_type=KeyboardInterrupt))
for _ in range(500):
    time.sleep(0.01)  # the main thread meets the handed-on Ctrl-C here
print("the Ctrl-C was lost")
"""


def test_a_ctrl_c_inside_a_finalizer_stops_the_main_thread():
    # Ctrl-C as a terminal leaves it, whatever an earlier in-process command (exit 130) set in this process
    done = subprocess.run([sys.executable, "-c", CTRL_C_IN_A_FINALIZER], capture_output=True, text=True,
                          timeout=120, preexec_fn=ctrl_c_as_a_terminal_leaves_it)
    assert "the Ctrl-C was lost" not in done.stdout
    assert done.stderr.rstrip().endswith("KeyboardInterrupt")

"""A stack that runs for months keeps bounded logs: a child's log past the limit is rotated while the
child keeps writing to it."""

from __future__ import annotations

import subprocess
import sys
import time

from questlog.stack import Child, Stack
from shared.settings import Settings

WRITER = "import sys, time\nfor i in range(100000):\n    print(f'line {i}', flush=True)\n    time.sleep(0.001)\n"


def test_a_log_past_its_limit_is_rotated_and_the_child_goes_on_writing_at_the_start_of_the_file(tmp_path):
    stack = Stack(Settings(data_dir=tmp_path), beat=False, flower=False)
    log = tmp_path / "io.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-c", WRITER], stdout=out)
    stack.children.append(Child(name="io", argv=[], proc=proc, log=log))
    try:
        deadline = time.monotonic() + 30
        while log.stat().st_size < 20_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stack.rotate_logs(max_bytes=10_000, keep=2) == [log]
        first = (tmp_path / "io.log.1").read_text()
        assert first.startswith("line 0\n")
        time.sleep(0.3)
        now = log.read_bytes()
        assert b"\0" not in now and now.startswith(b"line ")  # no hole where the old text was
        assert int(now.split(b"\n")[0].split()[1]) >= int(first.strip().split("\n")[-1].split()[1])
        while log.stat().st_size < 20_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        stack.rotate_logs(max_bytes=10_000, keep=2)
        assert (tmp_path / "io.log.2").read_text() == first  # the older one moved down
        assert stack.rotate_logs(max_bytes=10**9) == []  # under the limit: left alone
    finally:
        proc.kill()
        proc.wait()

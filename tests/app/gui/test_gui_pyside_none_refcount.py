"""Regression guard for the PySide6 build we install.

PySide6 6.12.0 on CPython 3.11 lost a reference to None on every Qt call that returns nothing;
after a few thousand calls (status-bar updates during a scan) the interpreter aborted with
"none_dealloc". pyproject pins a good version; this test fails if a bad one comes back.
"""

import os
import subprocess
import sys

CHECK = """
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
before = sys.getrefcount(None)
for _ in range(20000):
    label.setText("x")
print(before - sys.getrefcount(None))
"""


def test_qt_calls_do_not_leak_references_to_none():
    result = subprocess.run(
        [sys.executable, "-c", "import sys\n" + CHECK],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert abs(int(result.stdout.strip().splitlines()[-1])) < 100

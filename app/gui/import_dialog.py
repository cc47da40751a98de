"""File > Import analysis: choose `zsl-core embed` parts and say where their files are now.

The parts come from other machines (a job runner analysed a big catalogue in shards), where
the music may sit under another path. Each part's header names the folder its files were under
(`root`), so the dialog fills that in and the user only points at where the same folder is
mounted here. Only headers are read on the GUI thread (a few hundred bytes per part); the import
itself runs on a worker (`ImportWorker`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from zsl_core.errors import ZslError

PARTS_TIP = "The parts are the files `zsl-core embed --shard i/n` writes on each machine"


def part_text(shard: object) -> str:
    """A part's place among the others in words, counted from 1: "0/3" (as `--shard` numbers
    them, from 0) -> "part 1 of 3"."""
    index, _, count = str(shard or "").partition("/")
    if index.isdigit() and count.isdigit():
        return f"part {int(index) + 1} of {count}"
    return "one part"


class ImportDialog(QDialog):
    """`parts()` and `path_map()` once accepted; parts that cannot be read are listed with the reason
    and left out."""

    def __init__(
        self, model_name: str, start_folder: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import analysis")
        self.model_name = model_name
        self.start_folder = start_folder or str(Path.home())
        self._parts: dict[str, dict] = {}
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Take in tracks another machine already analysed (a big library can be analysed in "
            "parts, one part per machine), without analysing them again. Files changed since, "
            "or not found here, are left for the next rescan."
        )
        intro.setToolTip(PARTS_TIP)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QListWidget()
        layout.addWidget(self.list)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add parts…")
        self.add_button.clicked.connect(self._choose)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        form = QFormLayout()
        self.old_root = QLineEdit()
        self.old_root.setPlaceholderText("the folder on the machine that analysed them")
        self.new_root = QLineEdit()
        self.new_root.setPlaceholderText("leave empty if the files are at the same place here")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.new_root, 1)
        row.addWidget(browse)
        form.addRow("Files were analysed under:", self.old_root)
        form.addRow("Here they are under:", row)
        layout.addLayout(form)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        layout.addWidget(self.problem)
        self.box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.box.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self.box.accepted.connect(self._accept)
        self.box.rejected.connect(self.reject)
        layout.addWidget(self.box)
        self.resize(620, 420)
        self._update()

    # --- choosing parts --------------------------------------------------------------------------
    def _choose(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Choose index parts",
            self.start_folder,
            "zsl-core index parts (*.npz);;All files (*)",
        )
        self.add_parts(files)

    def add_parts(self, files: list[str]) -> None:
        """Read each part's header (cheap) and list it, with the reason if it cannot be imported."""
        from zsl_core.index import TrackIndex

        for name in files:
            if name in self._parts:
                continue
            try:
                info = TrackIndex.read_info(name)
                problem = self._problem(info)
            except ZslError as exc:
                info, problem = {}, str(exc).removeprefix(f"{name}: ")
            item = QListWidgetItem(
                f"{Path(name).name} — {problem}"
                if problem
                else f"{Path(name).name} — {info.get('tracks', '?')} tracks, "
                f"{part_text(info.get('shard'))}, from {info.get('root') or '?'}"
            )
            item.setToolTip(name)
            if problem:
                item.setForeground(self.palette().placeholderText())
            self.list.addItem(item)
            self._parts[name] = {"info": info, "problem": problem, "item": item}
            if not problem and info.get("root") and not self.old_root.text():
                self.old_root.setText(str(info["root"]))
        self._update()

    def _problem(self, info: dict) -> str | None:
        key = info.get("model_key") or info.get("model")
        if info.get("format") == 1:
            return "made by an older version of zsl-core: make this part again with it"
        if key != self.model_name:
            return f"made by model '{key}', the library uses '{self.model_name}'"
        return None

    def _remove(self) -> None:
        for item in self.list.selectedItems():
            name = item.toolTip()
            self._parts.pop(name, None)
            self.list.takeItem(self.list.row(item))
        self._update()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Where are these files here?", self.new_root.text() or self.start_folder
        )
        if folder:
            self.new_root.setText(folder)

    # --- result ----------------------------------------------------------------------------------
    def parts(self) -> list[str]:
        return [name for name, part in self._parts.items() if not part["problem"]]

    def path_map(self) -> list[str]:
        old, new = self.old_root.text().strip(), self.new_root.text().strip()
        return [f"{old}={new}"] if old and new and old != new else []

    def _update(self) -> None:
        usable = len(self.parts())
        refused = len(self._parts) - usable
        self.box.button(QDialogButtonBox.StandardButton.Ok).setEnabled(usable > 0)
        self.remove_button.setEnabled(bool(self._parts))
        self.problem.setText(
            f"{refused} part(s) cannot be imported and will be skipped." if refused else ""
        )

    def _accept(self) -> None:
        if self.new_root.text().strip() and not self.old_root.text().strip():
            self.problem.setText(
                "Say under which folder the files were analysed, or clear “Here they are under”."
            )
            return
        if (
            self.new_root.text().strip()
            and not Path(self.new_root.text().strip()).expanduser().is_dir()
        ):
            self.problem.setText(f"{self.new_root.text().strip()}: no such folder here.")
            return
        self.accept()

"""vidsr.files: outputs appear whole or not at all, with the usual rights."""

from __future__ import annotations

import json
import os
import stat

import pytest

from vidsr.files import atomic_path, write_json, write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.md"
    write_text(target, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("killed half-way")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_files_get_the_rights_the_umask_gives(tmp_path):
    target = tmp_path / "weights.bin"
    old = os.umask(0o022)
    try:
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"x")
            os.chmod(tmp, 0o600)  # as safetensors leaves its files
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_write_json_keeps_one_row_per_line(tmp_path):
    data = {"video": "a.mp4", "tracks": [{"id": 0, "frames": 75}, {"id": 1, "frames": 3}]}
    write_json(tmp_path / "t.json", data)
    text = (tmp_path / "t.json").read_text()
    assert json.loads(text) == data
    assert '  {"id": 1, "frames": 3}' in text.splitlines()

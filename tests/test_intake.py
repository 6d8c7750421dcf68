"""Intake: archives are checked member by member (unsafe ones refused with one line), only source
files are taken in, and each assignment's file is located by the documented rules, with notes."""
import io
import os
import tarfile
import time
import zipfile

import nbformat
import numpy as np
import pytest

from grader.intake import MAX_TOTAL_BYTES, Intake, SubmissionError, open_submission
from grader.intake.reading import index_folder

SKELETON = b"def f(x):\n    raise NotImplementedError\n\n\ndef g(x):\n    raise NotImplementedError\n"
DONE = b"def f(x):\n    return x\n\n\ndef g(x):\n    return 2 * x\n"


def make_zip(path, members: dict[str, bytes], symlinks: dict[str, str] = {}):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        for name, target in symlinks.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, target)
    return path


def make_tar(path, members: dict[str, bytes], symlinks: dict[str, str] = {}):
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for name, target in symlinks.items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            t.addfile(info)
    return path


def make_notebook(*cells: str) -> bytes:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Homework")] + [nbformat.v4.new_code_cell(c) for c in cells]
    return nbformat.writes(notebook).encode()


def folder(tmp_path, files: dict[str, bytes], mtimes: dict[str, float] = {}):
    root = tmp_path / "sub"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    for name, mtime in mtimes.items():
        os.utime(root / name, (mtime, mtime))
    return root


def test_good_zip_is_extracted_and_the_file_located(tmp_path):
    archive = make_zip(tmp_path / "s.zip", {"hw/conv.py": b"x = 1\n", "__MACOSX/hw/._conv.py": b"junk"})
    with open_submission(archive, tmp_path / "out") as intake:
        found = intake.locate("conv.py")
        assert (found.path, found.source, found.notes, found.error) == ("hw/conv.py", b"x = 1\n", [], None)
        assert intake.ignored == ["__MACOSX/ (1 file)"] and not (tmp_path / "out" / "__MACOSX").exists()


def test_good_tar_is_extracted(tmp_path):
    archive = make_tar(tmp_path / "s.tar.gz", {"./conv.py": b"y = 2\n", "./._conv.py": b"junk"})
    with open_submission(archive, tmp_path / "out") as intake:
        assert intake.locate("conv.py").path == "conv.py" and (intake.root / "conv.py").read_text() == "y = 2\n"
        assert intake.ignored == ["._conv.py (hidden file)"]


@pytest.mark.parametrize("name", ["../evil.py", "a/../../evil.py", "/etc/evil.py", "C:/evil.py", "bad\nname.py",
                                  "..\\evil.py", "hw3\\..\\..\\evil.py", "C:\\evil.py", "\\\\server\\evil.py",
                                  "venv/../../evil.txt"])
def test_path_escapes_and_odd_names_are_refused(tmp_path, name):
    archive = make_zip(tmp_path / "s.zip", {"conv.py": b"x", name: b"x"})
    with pytest.raises(SubmissionError, match="unsafe archive"):
        with open_submission(archive, tmp_path / "out"):
            pass
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("maker", [make_zip, make_tar])
@pytest.mark.parametrize("where", ["passwd", "venv/bin/python"])
def test_links_are_refused_even_where_nothing_is_extracted(tmp_path, maker, where):
    archive = maker(tmp_path / ("s.zip" if maker is make_zip else "s.tar.gz"), {"conv.py": b"x"},
                    symlinks={where: "/etc/passwd"})
    with pytest.raises(SubmissionError, match="link"):
        with open_submission(archive, tmp_path / "out"):
            pass


def test_zip_bomb_stops_at_the_size_cap(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {"conv.py": b"x", "big.py": b"\0" * (MAX_TOTAL_BYTES + 1024)})
    assert os.path.getsize(archive) < 1 << 20  # compresses to almost nothing
    with pytest.raises(SubmissionError, match="MiB uncompressed"):
        with open_submission(archive, tmp_path / "out"):
            pass
    assert not (tmp_path / "out").exists()  # partial extraction removed


class _Zeros(io.RawIOBase):
    """`size` zero bytes, made as they are read (a 3 GiB member without 3 GiB of memory)."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def test_a_tar_gz_bomb_is_refused_from_its_headers_before_it_is_decompressed(tmp_path):
    """A .tar.gz has no index: listing its members decompresses every member's data. A member
    declaring far more than a submission could need is refused from its header."""
    from grader.intake.rules import MAX_TAR_BYTES
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.addfile(tarfile.TarInfo("conv.py"), io.BytesIO(b""))
        big = tarfile.TarInfo("data/zeros.bin")
        big.size = 4 * MAX_TAR_BYTES
        tar.addfile(big, io.BufferedReader(_Zeros(big.size)))
        tar.addfile(tarfile.TarInfo("pool.py"), io.BytesIO(b""))
    assert os.path.getsize(archive) < 8 << 20
    started = time.process_time()
    with pytest.raises(SubmissionError, match="MiB uncompressed in all"):
        with open_submission(archive, tmp_path / "out"):
            pass
    assert time.process_time() - started < 0.5, "refused before the gigabyte was decompressed"


def test_a_big_data_file_is_ignored_not_extracted(tmp_path):
    archive = make_zip(tmp_path / "data.zip", {"conv.py": b"x", "big.bin": b"\0" * (MAX_TOTAL_BYTES + 1024)})
    with open_submission(archive, tmp_path / "out") as intake:
        assert intake.locate("conv.py").path == "conv.py" and intake.ignored == ["big.bin (52.4 MB)"]
        assert sorted(os.listdir(tmp_path / "out")) == ["conv.py"]


def test_too_many_source_files_are_refused_other_files_ignored(tmp_path):
    archive = make_zip(tmp_path / "many.zip", {f"f{i}.py": b"" for i in range(600)})
    with pytest.raises(SubmissionError, match="more than 500 source files"):
        with open_submission(archive, tmp_path / "out"):
            pass
    archive = make_zip(tmp_path / "notes.zip", {"conv.py": b"x", **{f"notes/f{i}.txt": b"" for i in range(600)}})
    with open_submission(archive, tmp_path / "out2") as intake:
        assert intake.locate("conv.py").path == "conv.py"
        assert len(intake.ignored) == 20 and intake.ignored[-1] == "... and 581 more"


def test_a_project_with_a_venv_and_a_60_mb_file_is_taken_in_fast_and_small(tmp_path):
    """The zipped project of the issue: 600 files of venv/, a 60 MB data file, .git, one conv.py."""
    archive = tmp_path / "project.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hw3/conv.py", DONE, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("hw3/data/train.npy", np.random.default_rng(0).bytes(60_000_000))  # stored, as data is
        z.writestr("hw3/venv/pyvenv.cfg", "home = /usr/bin\n")
        for i in range(599):
            z.writestr(f"hw3/venv/lib/python3.12/site-packages/pkg/m{i}.py", "x = 1\n")
        z.writestr("hw3/.git/HEAD", "ref: refs/heads/main\n")
    started = time.perf_counter()
    with open_submission(archive, tmp_path / "scratch") as intake:
        found = intake.locate("conv.py", SKELETON)
        seconds = time.perf_counter() - started
        written = sum(p.stat().st_size for p in (tmp_path / "scratch").rglob("*") if p.is_file())
        print(f"intake of the 60 MB / 600-file project: {seconds:.3f} s, {written} bytes written")
        assert found.path == "hw3/conv.py" and found.error is None
        assert seconds <= 1.0 and written <= 1 << 20
        assert intake.ignored == ["hw3/venv/ (600 files)", "hw3/.git/ (1 file)", "hw3/data/train.npy (60.0 MB)"]


def test_a_folder_skips_venvs_tool_folders_and_links(tmp_path):
    root = folder(tmp_path, {"hw/conv.py": DONE, "hw/myenv/pyvenv.cfg": b"", "hw/myenv/bin/conv.py": b"x",
                             "hw/.venv/conv.py": b"x", "hw/__pycache__/conv.cpython-312.pyc": b"x",
                             "hw/data.npy": b"123"})
    (root / "hw" / "passwd.py").symlink_to("/etc/passwd")
    snapshot = index_folder(root)
    assert list(snapshot.sources) == ["hw/conv.py"]
    assert sorted(snapshot.ignored) == sorted(["hw/.venv/", "hw/__pycache__/", "hw/myenv/", "hw/data.npy (3 bytes)",
                                               "hw/passwd.py (a link, not followed)"])


@pytest.mark.parametrize("name,content,match", [
    ("missing", None, "no such file"),
    ("broken.zip", b"not a zip", "unreadable archive"),
    ("conv.py", b"x=1", "single file"),
    ("notes.txt", b"hi", "neither a folder"),
])
def test_unusable_submissions_get_one_line_reasons(tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SubmissionError, match=match) as info:
        with open_submission(path, tmp_path / "out"):
            pass
    assert "\n" not in str(info.value)


def test_windows_powershell_zip_entries_are_read_with_backslashes_as_separators(tmp_path):
    archive = make_zip(tmp_path / "ps.zip", {"hw3\\conv.py": DONE, "hw3\\README.txt": b"hi"})
    with open_submission(archive, tmp_path / "out") as intake:
        found = intake.locate("conv.py", SKELETON)
        assert (found.path, found.notes) == ("hw3/conv.py", []) and (tmp_path / "out" / "hw3" / "conv.py").is_file()


def test_copies_rank_skeleton_last_then_newest_then_not_a_copy_then_shallowest(tmp_path):
    now = time.time()
    root = folder(tmp_path, {"conv.py": b"top = 1\n", "old/conv.py": b"old = 1\n", "hw3/conv.py": SKELETON,
                             "hw3 copy/conv.py": b"copy = 1\n"},
                  {"conv.py": now, "old/conv.py": now, "hw3/conv.py": now + 100, "hw3 copy/conv.py": now})
    found = Intake(index_folder(root)).locate("conv.py", SKELETON)
    assert found.path == "conv.py" and found.ambiguous and found.error is None
    assert found.candidates == ["conv.py", "hw3 copy/conv.py", "old/conv.py", "hw3/conv.py"]
    assert "(it is not named like a copy)" in found.notes[0] and "hw3 copy/conv.py" in found.notes[0]
    os.utime(root / "hw3 copy" / "conv.py", (now - 100, now - 100))
    (root / "old").rename(root / "older")
    found = Intake(index_folder(root)).locate("conv.py", SKELETON)
    assert found.path == "conv.py" and "(it is the shallowest)" in found.notes[0]
    os.utime(root / "older" / "conv.py", (now + 10, now + 10))
    found = Intake(index_folder(root)).locate("conv.py", SKELETON)
    assert found.path == "older/conv.py" and "(it is the most recently modified)" in found.notes[0]
    Intake(index_folder(root)).prepare(found, tmp_path / "copy")
    assert sorted(os.listdir(tmp_path / "copy")) == ["conv.py"] and (tmp_path / "copy/conv.py").read_text() == "old = 1\n"


def test_hw3_and_its_macos_copy_grade_the_filled_in_file_either_way(tmp_path):
    for done, skeleton in (("hw3", "hw3 copy"), ("hw3 copy", "hw3")):
        archive = make_zip(tmp_path / f"{done}.zip", {f"{done}/conv.py": DONE, f"{skeleton}/conv.py": SKELETON})
        with open_submission(archive, tmp_path / f"out-{done}") as intake:
            found = intake.locate("conv.py", SKELETON)
            assert found.path == f"{done}/conv.py" and found.ambiguous
            assert sorted(found.candidates) == ["hw3 copy/conv.py", "hw3/conv.py"]
            assert "it is not the skeleton as handed out" in found.notes[0]


def test_identical_copies_are_graded_once_without_ambiguity(tmp_path):
    root = folder(tmp_path, {"a/conv.py": DONE, "b/conv.py": DONE})
    found = Intake(index_folder(root)).locate("conv.py", SKELETON)
    assert not found.ambiguous and found.path == "a/conv.py" and found.candidates == ["a/conv.py", "b/conv.py"]
    assert found.notes == ["2 identical copies (a/conv.py, b/conv.py): graded a/conv.py once"]


def test_another_case_is_graded_with_a_note(tmp_path):
    root = folder(tmp_path, {"Conv.py": DONE})
    intake = Intake(index_folder(root))
    found = intake.locate("conv.py", SKELETON)
    assert found.path == "Conv.py" and found.source == DONE and "must be named conv.py" in found.notes[0]
    intake.prepare(found, tmp_path / "copy")
    assert (tmp_path / "copy" / "conv.py").read_bytes() == DONE


def test_a_notebook_is_extracted_without_magics_and_shell_escapes(tmp_path):
    root = folder(tmp_path, {"conv.ipynb": make_notebook("%matplotlib inline\nimport numpy as np",
                                                         "!pip install numpy", DONE.decode(),
                                                         "for k in range(2):\n    %time f(k)\nf?",
                                                         "%%bash\necho hi", "%%time\nprint(g(2))")})
    intake = Intake(index_folder(root))
    found = intake.locate("conv.py", SKELETON)
    assert found.path == "conv.ipynb" and "code cells of the notebook conv.ipynb" in found.notes[0]
    assert "%matplotlib inline (cell 1), !pip install numpy (cell 2)" in found.notes[1]
    assert "(6 lines)" in found.notes[1]
    namespace = {}
    exec(compile(found.source, "conv.py", "exec"), namespace)   # plain Python now
    assert namespace["g"](3) == 6
    intake.prepare(found, tmp_path / "copy")
    assert (tmp_path / "copy" / "conv.py").read_bytes() == found.source


def test_a_notebook_of_another_name_is_graded_when_it_defines_the_functions(tmp_path):
    root = folder(tmp_path, {"Homework 3.ipynb": make_notebook(DONE.decode()),
                             "other.ipynb": make_notebook("def f(x):\n    return 0\n")})
    found = Intake(index_folder(root)).locate("conv.py", SKELETON)
    assert found.path == "Homework 3.ipynb" and "it defines 2 of the 2 functions" in found.notes[0]
    assert not found.ambiguous  # other.ipynb defines only half of them, fewer than Homework 3.ipynb
    root = folder(tmp_path / "x", {"notes.ipynb": make_notebook("print(1)")})
    assert Intake(index_folder(root)).locate("conv.py", SKELETON).error.startswith("missing file")


def test_an_unreadable_notebook_and_an_empty_file_say_so(tmp_path):
    root = folder(tmp_path, {"conv.ipynb": b"{not json", "pool.py": b"\n\n"})
    intake = Intake(index_folder(root))
    broken = intake.locate("conv.py", SKELETON)
    assert broken.path == "conv.ipynb" and "not a notebook" in broken.error
    empty = intake.locate("pool.py")
    assert empty.path == "pool.py" and empty.error == "pool.py is empty"


def test_near_misses_are_named_in_the_missing_file_message(tmp_path):
    root = folder(tmp_path, {"conv (1).py": b"x", "hw/conv.py.txt": b"x", "conv_final.py": b"x", "__init__.py": b"",
                             "search.py": b"x"})
    intake = Intake(index_folder(root))
    message = intake.locate("conv.py").error
    assert message.startswith("missing file: conv.py is not in the submission; found ")
    assert all(n in message for n in ("conv (1).py", "hw/conv.py.txt", "conv_final.py"))
    assert message.endswith("rename the one to grade to conv.py")
    assert intake.locate("init.py").error == "missing file: init.py is not in the submission"
    assert intake.locate("arch.py").error == "missing file: arch.py is not in the submission"

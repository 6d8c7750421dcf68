"""Intake: archives are checked member by member; unsafe ones are refused with one line."""
import io
import os
import tarfile
import zipfile

import pytest

from grader.intake import MAX_TOTAL_BYTES, Intake, SubmissionError, open_submission


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


def test_good_zip_is_extracted_and_the_file_located(tmp_path):
    archive = make_zip(tmp_path / "s.zip", {"hw/conv.py": b"x = 1\n", "__MACOSX/hw/conv.py": b"junk"})
    with open_submission(archive, tmp_path / "out") as intake:
        folder = intake.locate("conv.py")
        assert folder is not None and (folder / "conv.py").read_text() == "x = 1\n"
        assert "__MACOSX" not in str(folder)


def test_good_tar_is_extracted(tmp_path):
    archive = make_tar(tmp_path / "s.tar.gz", {"conv.py": b"y = 2\n"})
    with open_submission(archive, tmp_path / "out") as intake:
        assert (intake.locate("conv.py") / "conv.py").read_text() == "y = 2\n"


@pytest.mark.parametrize("name", ["../evil.py", "a/../../evil.py", "/etc/evil.py", "C:/evil.py", "bad\nname.py"])
def test_path_escapes_and_odd_names_are_refused(tmp_path, name):
    archive = make_zip(tmp_path / "s.zip", {name: b"x"})
    with pytest.raises(SubmissionError, match="unsafe archive"):
        with open_submission(archive, tmp_path / "out"):
            pass
    assert not (tmp_path / "evil.py").exists()


@pytest.mark.parametrize("maker", [make_zip, make_tar])
def test_links_are_refused(tmp_path, maker):
    archive = maker(tmp_path / ("s.zip" if maker is make_zip else "s.tar.gz"), {"conv.py": b"x"},
                    symlinks={"passwd": "/etc/passwd"})
    with pytest.raises(SubmissionError, match="link"):
        with open_submission(archive, tmp_path / "out"):
            pass


def test_zip_bomb_stops_at_the_size_cap(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {"conv.py": b"x", "big.bin": b"\0" * (MAX_TOTAL_BYTES + 1024)})
    assert os.path.getsize(archive) < 1 << 20  # compresses to almost nothing
    with pytest.raises(SubmissionError, match="MiB uncompressed"):
        with open_submission(archive, tmp_path / "out"):
            pass
    assert not (tmp_path / "out").exists()  # partial extraction removed


def test_too_many_files_are_refused(tmp_path):
    archive = make_zip(tmp_path / "many.zip", {f"f{i}.txt": b"" for i in range(600)})
    with pytest.raises(SubmissionError, match="more than"):
        with open_submission(archive, tmp_path / "out"):
            pass


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


def test_locate_prefers_the_shallowest_copy_and_copy_skips_links(tmp_path):
    (tmp_path / "sub" / "old").mkdir(parents=True)
    (tmp_path / "sub" / "conv.py").write_text("top")
    (tmp_path / "sub" / "old" / "conv.py").write_text("old")
    (tmp_path / "sub" / "passwd").symlink_to("/etc/passwd")
    intake = Intake(tmp_path / "sub")
    folder = intake.locate("conv.py")
    assert folder == tmp_path / "sub"
    Intake.copy_folder(folder, tmp_path / "copy")
    assert (tmp_path / "copy" / "conv.py").read_text() == "top" and not (tmp_path / "copy" / "passwd").exists()

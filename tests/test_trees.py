"""grader.trees: walking and deleting student-made folder trees of any depth, links not followed."""
from __future__ import annotations

import os
from pathlib import Path

from grader.trees import remove_tree, walk

DEPTH = 3000   # past the ~1000 levels at which os.walk (Python < 3.12) and shutil.rmtree recurse out


def outside_folder(tmp_path: Path) -> Path:
    """A folder beside the trees under test, holding a file that must survive every deletion."""
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "keep").write_text("mine")
    return outside


def deep_tree(root: Path, outside: Path) -> None:
    """`mkdir a; cd a` DEPTH times, a file and a link to `outside` every 500 levels."""
    here = os.getcwd()
    os.chdir(root)
    try:
        for level in range(DEPTH):
            os.mkdir("a")
            os.chdir("a")
            if level % 500 == 0:
                Path("f").write_text("x")
                os.symlink(outside, "out")
    finally:
        os.chdir(here)


def test_remove_tree_deletes_any_depth_and_never_follows_a_link(tmp_path):
    outside = outside_folder(tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    deep_tree(root, outside)
    remove_tree(root)
    assert not root.exists()
    assert (outside / "keep").read_text() == "mine"


def test_remove_tree_takes_a_file_a_link_or_nothing(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep").write_text("x")
    link = tmp_path / "link"
    link.symlink_to(target)
    remove_tree(link)
    assert not link.is_symlink() and (target / "keep").exists()
    remove_tree(target / "keep")
    assert not (target / "keep").exists()
    remove_tree(tmp_path / "missing")   # nothing to do, nothing raised


def test_walk_gives_what_os_walk_gives_and_survives_depth(tmp_path):
    source = Path(os.__file__).parent / "json"
    assert sorted((f, sorted(d), sorted(n)) for f, d, n in walk(source)) == \
        sorted((f, sorted(d), sorted(n)) for f, d, n in os.walk(source))
    outside = outside_folder(tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    deep_tree(root, outside)
    folders = list(walk(root))
    assert len(folders) > 1000   # as deep as the system's path length allows, no RecursionError
    assert all("out" in dirs for folder, dirs, files in folders if "f" in files)   # links listed...
    assert not any(folder.endswith("/out") for folder, _, _ in folders)          # ...not entered
    remove_tree(root)


def test_pruning_dirs_in_place_skips_them(tmp_path):
    for name in ("keep/x", "skip/y"):
        (tmp_path / name).mkdir(parents=True)
    seen = []
    for folder, dirs, files in walk(tmp_path):
        seen.append(os.path.relpath(folder, tmp_path))
        dirs[:] = [d for d in dirs if d != "skip"]
    assert sorted(seen) == [".", "keep", "keep/x"]


def test_remove_tree_is_not_blocked_by_folders_named_like_its_own(tmp_path):
    """Names a student prepared at the top cannot make a deeper folder unmovable (and so kept)."""
    root = tmp_path / "root"
    for n in range(150):
        (root / f".removing-{n}").mkdir(parents=True)
        (root / f".removing-{n}" / "x").write_text("x")
    (root / "z" / "sub" / "deep").mkdir(parents=True)
    (root / "z" / "sub" / "deep" / "data").write_text("x")
    remove_tree(root)
    assert not root.exists()


def test_remove_tree_does_not_follow_a_link_given_with_a_trailing_slash(tmp_path):
    outside = outside_folder(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(outside)
    remove_tree(f"{link}/")
    remove_tree(f"{link}/.")
    assert (outside / "keep").read_text() == "mine"


def test_walk_checks_for_a_link_just_before_entering(tmp_path):
    outside = outside_folder(tmp_path)
    root = tmp_path / "root"
    (root / "z" / "sub").mkdir(parents=True)
    entered = []
    for folder, dirs, files in walk(root):
        entered.append(os.path.relpath(folder, root))
        if folder == str(root):   # swapped for a link after it was listed, before it is entered
            (root / "z").rename(tmp_path / "moved")
            (root / "z").symlink_to(outside)
    assert entered == ["."]

"""Walking and deleting folder trees of any depth, without following links.

A student decides how deep the folders it writes go (a submission's own folders; in the basic
sandbox, its working folder). Python's ``os.walk`` (before 3.12) and ``shutil.rmtree`` recurse
once per level and raise ``RecursionError`` past ~1000 levels (``rmtree(ignore_errors=True)``
ignores only ``OSError``): one ``mkdir a; cd a`` loop would then crash the grader, and a session
folder nobody can delete would crash every later grading that sweeps it. These two work with an
explicit stack and hold at most two descriptors open, however deep the tree.
"""
from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator

_OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def walk(root, followlinks: bool = False) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(root, followlinks=...)``, top-down, as an explicit stack: the same
    ``(folder, dirs, files)`` triples (links to folders listed in `dirs`, entered only with
    `followlinks`), and pruning `dirs` in place skips them. A folder that cannot be listed, or
    whose path grew past what the system accepts, is skipped, as ``os.walk`` does by default."""
    stack = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        dirs, files, links = [], [], set()
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            (dirs if is_dir else files).append(entry.name)
            if is_dir and entry.is_symlink():
                links.add(entry.name)
        yield folder, dirs, files
        stack.extend(os.path.join(folder, name) for name in reversed(dirs)
                     if followlinks or name not in links)


def remove_tree(path) -> None:
    """Delete `path` and everything below it, ignoring what cannot be deleted (as
    ``rmtree(ignore_errors=True)``). Never follows a link: each folder is opened relative to its
    parent with ``O_NOFOLLOW``. Depth costs nothing: a folder found below the top is first moved
    up to the top (a rename), so the tree is emptied breadth-first, two descriptors at a time."""
    try:
        top = os.open(path, _OPEN_FOLDER)
    except OSError:   # gone, or not a folder: a file or a link is removed as such
        with contextlib.suppress(OSError):
            if not os.path.isdir(path) or os.path.islink(path):
                os.unlink(path)
        return
    pending: list[str | None] = [None]   # folders to empty: None is the top, else a name in it
    moved = 0
    try:
        while pending:
            name = pending.pop()
            try:
                fd = top if name is None else os.open(name, _OPEN_FOLDER, dir_fd=top)
            except OSError:
                continue
            try:
                with os.scandir(fd) as listing:
                    entries = list(listing)
                for entry in entries:
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    if not is_dir:
                        with contextlib.suppress(OSError):
                            os.unlink(entry.name, dir_fd=fd)
                    elif fd == top:
                        pending.append(entry.name)
                    else:   # up to the top under a fresh name: its depth no longer matters
                        for _ in range(100):
                            moved += 1
                            flat = f".removing-{moved}"
                            try:
                                os.rename(entry.name, flat, src_dir_fd=fd, dst_dir_fd=top)
                            except OSError as exc:
                                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):   # the name is taken
                                    continue
                                break
                            pending.append(flat)
                            break
            except OSError:
                pass
            finally:
                if fd != top:
                    os.close(fd)
            if name is not None:
                with contextlib.suppress(OSError):
                    os.rmdir(name, dir_fd=top)
    finally:
        os.close(top)
    with contextlib.suppress(OSError):
        os.rmdir(path)

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
import secrets
from collections.abc import Iterator

_OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def walk(root, followlinks: bool = False) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(root, followlinks=...)``, top-down, as an explicit stack: the same
    ``(folder, dirs, files)`` triples (links to folders listed in `dirs`, entered only with
    `followlinks`: checked, as ``os.walk`` does, just before a folder is entered), and pruning
    `dirs` in place skips them. A folder that cannot be listed, or whose path grew past what the
    system accepts, is skipped, as ``os.walk`` does by default."""
    stack = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        dirs, files = [], []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            (dirs if is_dir else files).append(entry.name)
        yield folder, dirs, files
        paths = [os.path.join(folder, name) for name in reversed(dirs)]
        stack.extend(path for path in paths if followlinks or not os.path.islink(path))


def remove_tree(path) -> None:
    """Delete `path` and everything below it, ignoring what cannot be deleted (as
    ``rmtree(ignore_errors=True)``). Links below `path`, and `path` itself if it is one, are
    never followed: each folder is opened relative to the top with ``O_NOFOLLOW`` (the folders
    above `path` are the caller's and trusted). Depth costs nothing: a folder found below the top
    is first moved up to the top under an unpredictable name (a rename), so the tree is emptied
    breadth-first, two descriptors at a time."""
    path = os.path.normpath(os.fspath(path))   # "link/" or "link/." would follow the link
    try:
        top = os.open(path, _OPEN_FOLDER)
    except OSError:   # gone, or not a folder: a file or a link is removed as such
        with contextlib.suppress(OSError):
            if not os.path.isdir(path) or os.path.islink(path):
                os.unlink(path)
        return
    pending: list[str | None] = [None]   # folders to empty: None is the top, else a name in it
    try:
        while pending:
            name = pending.pop()
            try:
                fd = top if name is None else os.open(name, _OPEN_FOLDER, dir_fd=top)
            except OSError:   # no longer a folder (swapped for a link or a file): removed as such
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=top)
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
                    else:
                        flat = _move_to_top(entry.name, fd, top)
                        if flat is not None:
                            pending.append(flat)
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


def _move_to_top(name: str, fd: int, top: int) -> str | None:
    """Rename the folder `name` of the folder `fd` into `top` under a fresh random name (which no
    one can have made ready to block it); the new name, or None if it cannot be moved."""
    for _ in range(8):
        flat = f".removing-{secrets.token_hex(8)}"
        try:
            os.rename(name, flat, src_dir_fd=fd, dst_dir_fd=top)
            return flat
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):   # not a taken name
                return None
    return None

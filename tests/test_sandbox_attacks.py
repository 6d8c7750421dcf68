"""Attacks on the sandbox itself, run in every mode this machine offers (as root in CI).

Each probe only reads or opens (a sysctl is opened for writing, never written; a mount is tried
only inside bubblewrap's private mount namespace), so a broken sandbox fails the test without
changing the machine that runs it.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import grader
from grader.sandbox import StudentCrashed, StudentError, StudentRaised, cgroups
from tests.conftest import needs_bwrap

pytestmark = pytest.mark.usefixtures("leaves_nothing")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the grader-as-root attacks need root")
MODES = [pytest.param("bubblewrap", marks=needs_bwrap), "basic"]
GRADER_PACKAGE = str(Path(grader.__file__).resolve().parent)

PROBES = """
import ctypes, errno, os, threading, time

def status():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    return {k: fields[k].strip() for k in ("Uid", "Gid", "CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp")}

def try_open(path, flags):
    try:
        os.close(os.open(path, flags))
        return "opened"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))

def read_shadow():
    return try_open("/etc/shadow", os.O_RDONLY)

def open_sysctl_for_writing():  # opened, never written
    return try_open("/proc/sys/kernel/hostname", os.O_WRONLY)

def plant(folder):
    return try_open(os.path.join(folder, "planted_by_student.pth"), os.O_WRONLY | os.O_CREAT | os.O_EXCL)

def unshare_namespaces():
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.unshare(0x00020000 | 0x10000000), ctypes.get_errno()  # CLONE_NEWNS | CLONE_NEWUSER

def ipc_and_network():
    libc = ctypes.CDLL(None, use_errno=True)
    shm = libc.shmget(0, 1 << 20, 0o1000 | 0o600), ctypes.get_errno()  # IPC_PRIVATE, IPC_CREAT
    import socket
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
        inet = "opened"
    except OSError as exc:
        inet = errno.errorcode.get(exc.errno, str(exc.errno))
    a, b = socket.socketpair()  # local sockets stay usable (multiprocessing needs them)
    a.close(); b.close()
    return shm, inet

def try_mount():  # only called inside bubblewrap's private mount namespace
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.mount(b"none", b"/usr", None, 0x20 | 0x1000, None), ctypes.get_errno()  # MS_REMOUNT|MS_BIND

def fork_bomb(n):
    started = 0
    for _ in range(n):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            os.setsid()
            time.sleep(600)
            os._exit(0)
        started += 1
    return started

def thread_bomb(n):
    started = 0
    for _ in range(n):
        try:
            threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
        except RuntimeError:
            break
        started += 1
    return started

def daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(600)
        os._exit(0)
    return 1

def ok():
    return 1
"""


@ROOT_ONLY
@pytest.mark.parametrize("mode", MODES)
def test_child_is_an_unprivileged_host_user_without_capabilities(load, mode):
    m = load(PROBES, mode=mode)
    info = m.status()
    uids = info["Uid"].split()
    assert all(int(u) == m.sandbox_uid for u in uids) and m.sandbox_uid != 0
    assert int(info["CapEff"], 16) == 0 and int(info["CapPrm"], 16) == 0
    assert info["NoNewPrivs"] == "1" and info["Seccomp"] == "2"
    if mode == "bubblewrap":
        assert int(info["CapBnd"], 16) == 0


@ROOT_ONLY
@pytest.mark.parametrize("mode", MODES)
def test_host_secrets_settings_and_namespaces_are_out_of_reach(load, mode):
    m = load(PROBES, mode=mode)
    assert m.read_shadow() in ("EACCES", "ENOENT")
    assert m.open_sysctl_for_writing() in ("EACCES", "EROFS", "EPERM")
    assert m.unshare_namespaces() == (-1, 1)  # EPERM from the seccomp filter
    assert m.ipc_and_network() == ((-1, 1), "EACCES")  # no System V IPC, no network sockets
    if mode == "bubblewrap":
        assert m.try_mount() == (-1, 1)


@ROOT_ONLY
@pytest.mark.parametrize("mode", MODES)
def test_nothing_can_be_planted_outside_the_working_folder(load, mode, tmp_path):
    course = Path(__file__).resolve().parents[1]
    m = load(PROBES, mode=mode, hide=(str(course),))
    for folder in (GRADER_PACKAGE, str(course / "solutions"), str(course), str(tmp_path)):
        assert m.plant(folder) != "opened", folder
        assert not (Path(folder) / "planted_by_student.pth").exists()


@ROOT_ONLY
@pytest.mark.parametrize("mode", MODES)
def test_fork_and_thread_bombs_stop_at_the_process_cap_and_die_with_the_call(load, mode):
    m = load(PROBES, mode=mode, processes=40)
    started = time.monotonic()
    assert m.fork_bomb(1000) <= 40
    assert m.stray_processes() == []
    assert m.daemon() == 1
    assert m.stray_processes() == []  # the setsid'd grandchild died with the call
    assert m.thread_bomb(1000) <= 40  # threads of the serving process itself: capped too
    assert m.ok() == 1
    assert time.monotonic() - started < 30


@ROOT_ONLY
@pytest.mark.parametrize("mode", MODES)
def test_close_leaves_no_process_group_or_folder(load, mode):
    m = load(PROBES, mode=mode)
    uid = m.sandbox_uid
    group_before = cgroups.group_names(cgroups.detect())
    box_folder = m._box.folder
    m.daemon()
    m.close()
    assert _running_as(uid) == []
    assert not box_folder.exists()
    assert len(cgroups.group_names(cgroups.detect())) < len(group_before) or cgroups.detect() is None


def _running_as(uid: int) -> list[int]:
    """Processes of `uid` that are not zombies (an exited process that init has yet to reap)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid and \
                    Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX":
                found.append(int(pid))
        except (OSError, IndexError):
            pass
    return found


MEMORY_HOGS = """
import mmap, os

def shared(n):
    area = mmap.mmap(-1, n, flags=mmap.MAP_SHARED)
    for offset in range(0, n, 4096):
        area[offset] = 1
    return n

def tmp_files(n, folder="/tmp"):
    chunk = b"x" * (1 << 20)
    written = 0
    with open(os.path.join(folder, "hog"), "wb") as out:
        while written < n:
            out.write(chunk)
            written += len(chunk)
    return written

def many_files(n):
    for k in range(n):
        open(f"f{k}", "w").close()
    return n

def ok():
    return 1
"""


def _shmem_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) * 1024
    return 0


@ROOT_ONLY
@pytest.mark.skipif(cgroups.detect() is None, reason="needs control groups")
@pytest.mark.parametrize("mode", MODES)
def test_shared_memory_and_tmpfs_count_against_the_memory_limit(load, mode):
    limit = 512 << 20
    m = load(MEMORY_HOGS, mode=mode, memory_bytes=limit, tmp_bytes=4 << 30, file_bytes=4 << 30)
    before = _shmem_bytes()
    with pytest.raises(StudentCrashed, match="memory"):
        m.shared(3 << 30)
    assert m.ok() == 1
    if mode == "bubblewrap":  # /tmp is the sandbox's own tmpfs, charged to its control group
        with pytest.raises((StudentCrashed, StudentRaised)):
            m.tmp_files(3 << 30)
    assert _shmem_bytes() - before < limit
    m.close()
    assert _shmem_bytes() - before < 64 << 20  # and all of it is freed with the sandbox


@ROOT_ONLY
@pytest.mark.parametrize("mode", MODES)
def test_working_folder_has_size_and_file_count_quotas(load, mode):
    m = load(MEMORY_HOGS, mode=mode, work_bytes=32 << 20, work_files=500)
    with pytest.raises(StudentError, match="quota|No space|ENOSPC|File too large"):
        m.tmp_files(64 << 20, folder=".")
    with pytest.raises(StudentCrashed, match="more than 500 files"):
        m.many_files(2000)
    assert m.ok() == 1  # a fresh child, in a reset working folder


@ROOT_ONLY
@pytest.mark.parametrize("mode", MODES)
def test_restarts_reuse_one_working_folder(load, mode, module_dir):
    m = load("import os\nDATA = open('blob.bin', 'rb').read()\ndef crash(): os._exit(3)\n",
             mode=mode, start=False)
    (Path(m._files) / "blob.bin").write_bytes(os.urandom(20 << 20))
    for _ in range(5):
        with pytest.raises(StudentCrashed):
            m.crash()
    session = m._session.folder
    used = sum(f.stat().st_size for f in session.rglob("*") if f.is_file())
    assert used < 2 * (20 << 20) + (1 << 20)  # the pristine copy and at most one working copy


# Basic mode as root: the sandbox uids share the host's file system. From its working folder
# (<session>/<box>/work) a student can name every other entry of the session: the copies of the
# submission, the reference and an archive's contents, and the other boxes of the session.
SESSION_SNOOP = '''
import os
import numpy as np

_session = os.path.dirname(os.path.dirname(os.getcwd()))
_box = os.path.basename(os.path.dirname(os.getcwd()))
_prefix, _number = _box.rsplit("-", 1)
_tried = [os.path.join(_session, name, "toy.py") for name in ("reference-toy", "student-toy", "intake")]
_tried += [os.path.join(_session, f"{_prefix}-{n}", part, "toy.py") for n in range(1, 6) for part in ("files", "work")
           if str(n) != _number]
READ = []
for _path in _tried:
    try:
        with open(_path) as _f:
            READ.append(_path)
    except OSError:
        pass
SEES_ITSELF = os.path.isfile(os.path.join(os.getcwd(), "toy.py"))


def double(x):
    return 2 * np.asarray(x) if SEES_ITSELF and not READ else np.asarray(x)
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="basic mode closes the session to sandbox uids only as root")
def test_basic_mode_keeps_the_sessions_copies_closed_to_the_student(toy_course, tmp_path):
    from grader.course import find_course
    from grader.pipeline import GradeOptions, grade_submission
    (tmp_path / "toy.py").write_text(SESSION_SNOOP)
    result = grade_submission(tmp_path, find_course(toy_course), options=GradeOptions(sandbox="basic"))
    toy = result.assignments[0]
    assert result.sandbox == "basic" and toy.error is None
    assert toy.score == 6, [(t.name, t.output) for t in toy.tests if not t.passed]   # one hidden test fails on purpose

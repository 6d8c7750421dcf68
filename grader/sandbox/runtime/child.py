"""The sandboxed child: imports the student's module and serves calls from the grader.

This and the two modules it uses (``wire.py``, ``values.py``) are the only grader code that runs
next to student code; they are copied into the sandbox and import nothing else from the grader. It judges nothing: it decodes arguments,
calls the student's function, and sends back what came out (or the exception's type and
message). Everything it sends is treated by the grader as untrusted data.

Usage: python -I child.py MODULE_DIR SOURCE_DIR MODULE_NAME FD_IN FD_OUT DEVICE [UID:GID]

SOURCE_DIR is a read-only folder whose files are first copied into MODULE_DIR (bubblewrap: the
working folder is an empty tmpfs), or "-" when MODULE_DIR already holds them (basic mode).
UID:GID (basic mode started as root) makes the child drop to that unprivileged identity before
the student's module is imported.
"""
import os
import sys
import traceback

RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
if __package__:   # imported in the grader, for a forked reference (sandbox/forked.py): the package's copy
    from . import wire
else:             # run as a script in the sandbox: the runtime's own copy, next to this file
    sys.path.insert(0, RUNTIME_DIR)
    import wire  # noqa: E402

# The standard library's import folders (the zip, lib/pythonX.Y, lib-dynload): everything on the
# path at start-up but the runtime and the site-packages folders. Modules there are standard
# library, listed in sys.stdlib_module_names or not (e.g. _sysconfigdata_*).
STDLIB_PATHS = [p for p in sys.path[1:] if p and not p.rstrip("/").endswith(("site-packages", "dist-packages"))]
MOVED: dict = {}  # original import folder -> /proc/self/fd/N after become()

REQUEST_LIMIT = 1 << 31


def describe_exception(exc: BaseException, filename: str) -> dict:
    """Type, builtin ancestry and a one-line message, with the student's line where known."""
    where = ""
    if isinstance(exc, SyntaxError) and exc.lineno:
        where = f" ({os.path.basename(exc.filename or filename)}, line {exc.lineno})"
    else:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if os.path.basename(f.filename) == filename]
        if frames:
            where = f" ({filename}, line {frames[-1].lineno})"
    message = str(exc) if not isinstance(exc, SyntaxError) else (exc.msg or "")
    builtin_mro = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"]
    return {"type": type(exc).__name__, "builtins": builtin_mro,
            "message": message[:500], "where": where}


def become(uid: int, gid: int) -> None:
    """Drop from root to `uid`/`gid` for good (basic mode as root), keeping imports working.

    The Python installation may lie where `uid` cannot go (``/root/.pyenv``, mode 0700): each
    import root is opened now, as root, and reached afterwards through ``/proc/self/fd/N``, which
    gives access to that folder and below, never to its parents. Changing every uid away from 0
    clears all capabilities; seccomp and ``no_new_privs`` were set before exec.
    """
    import ctypes
    import importlib
    moved = MOVED
    for entry in sys.path:
        if entry and os.path.isdir(entry) and entry not in moved:
            moved[entry] = "/proc/self/fd/%d" % os.open(entry, os.O_RDONLY | os.O_DIRECTORY)

    def relocate(path):
        for old, new in moved.items():
            if path == old or path.startswith(old.rstrip("/") + "/"):
                return new + path[len(old):]
        return path
    sys.path[:] = [relocate(p) for p in sys.path]
    for module in list(sys.modules.values()):
        paths = getattr(module, "__path__", None)
        if isinstance(paths, list):
            paths[:] = [relocate(p) for p in paths]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(64):  # empty the bounding set too (needs CAP_SETPCAP: still root here)
        libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP; past the last capability: EINVAL
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("could not drop privileges")
    # a credential change makes /proc/self root's; make it ours again so /proc/self/fd works
    libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE


def copy_files(source: str, target: str) -> None:
    """Copy the submission's files (contents only) from the read-only folder into the working one."""
    import shutil
    for folder, dirs, files in os.walk(source):
        inside = os.path.join(target, os.path.relpath(folder, source))
        os.makedirs(inside, exist_ok=True)
        for name in files:
            shutil.copyfile(os.path.join(folder, name), os.path.join(inside, name), follow_symlinks=False)


def reap_children() -> None:
    """Collect exited children (zombies) without waiting for running ones."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class ImportRule:
    """First on ``sys.meta_path``: importing a top-level module that is neither in the standard
    library, nor allowed by the assignment (GRADER_ALLOWED_IMPORTS), nor one of the submission's
    own files fails with a message that names the rule. Under bubblewrap the other installed
    packages are absent anyway (this only words the failure); in basic mode it is the rule itself."""

    BLOCKED = ("cupyx.scipy",)  # parts of an allowed package that would do the homework for you

    def __init__(self, allowed: list[str], own_dir: str):
        self.allowed, self.own_dir = set(allowed), own_dir

    def find_spec(self, name, path=None, target=None):
        import importlib.machinery
        if name.startswith(self.BLOCKED):
            raise self._refuse(name)
        top = name.partition(".")[0]
        if path is not None or top in sys.stdlib_module_names or top in self.allowed:
            return None  # let the ordinary finders find it
        stdlib = [MOVED.get(p, p) for p in STDLIB_PATHS]
        if importlib.machinery.PathFinder.find_spec(top, [self.own_dir, *stdlib]) is not None:
            return None  # a module of the submission itself, or of the standard library
        raise self._refuse(name)

    def _refuse(self, name: str) -> ModuleNotFoundError:
        allowed = ", ".join(sorted(self.allowed)) or "nothing else"
        return ModuleNotFoundError(f"{name} may not be imported: submissions may use the standard library and "
                                   f"{allowed} only (the assignment's import rule)", name=name)


def to_device(value, xp):
    """Move ndarrays (also inside lists/tuples/dicts) to the array module `xp`."""
    import numpy as np
    if isinstance(value, np.ndarray):
        return xp.asarray(value)
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, xp) for v in value)
    if isinstance(value, dict):
        return {k: to_device(v, xp) for k, v in value.items()}
    return value


def sender(replies):
    """send(message): one frame on `replies`; a result that is not plain data is said as such."""
    def send(message) -> None:
        try:
            data = wire.encode(message)
        except Exception as exc:  # the student's result is not plain data
            data = wire.encode({"id": message.get("id"), "unsendable": f"{type(exc).__name__}: {exc}"[:500]})
        replies.write(data)
    return send


def main() -> None:
    module_dir, source_dir, module_name, fd_in, fd_out, device = sys.argv[1:7]
    if len(sys.argv) > 7:
        uid, gid = (int(n) for n in sys.argv[7].split(":"))
        become(uid, gid)
    requests = os.fdopen(int(fd_in), "rb", buffering=0)
    replies = os.fdopen(int(fd_out), "wb", buffering=0)
    sys.path.insert(0, module_dir)
    os.chdir(module_dir)
    filename = module_name + ".py"
    send = sender(replies)
    send({"started": True})   # before any student code: the sandbox itself started (bubblewrap works here)
    xp = None
    sync = None
    if device == "gpu":
        import cupy
        xp = cupy
        sync = cupy.cuda.Device().synchronize

    try:
        if source_dir != "-":
            copy_files(source_dir, module_dir)
        allowed = os.environ.get("GRADER_ALLOWED_IMPORTS")
        if allowed is not None:
            sys.meta_path.insert(0, ImportRule([m for m in allowed.split(",") if m], module_dir))
        module = __import__(module_name)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt at import count too
        send({"import_error": describe_exception(exc, filename)})
        return
    serve(module, requests, send, filename, xp, sync)


def serve(module, requests, send, filename: str, xp=None, sync=None) -> None:
    """Say "ready" with the module's functions, then answer calls until `requests` ends."""
    functions = sorted(n for n in dir(module) if callable(getattr(module, n, None)) and not n.startswith("_"))
    send({"ready": True, "functions": functions})

    while True:
        try:
            request = wire.decode(wire.read_frame(requests, REQUEST_LIMIT))
        except EOFError:
            return
        reap_children()  # what the grader killed after the last call: free its process slots
        call_id = request.get("id")
        func = getattr(module, request["call"], None)
        if not callable(func):
            send({"id": call_id, "missing": request["call"]})
            continue
        # one call, or ("many") the same function on several argument sets in one round trip
        many = request.get("many")
        sets = many if many is not None else [[request.get("args", []), request.get("kwargs", {})]]
        results = []
        for index, (args, kwargs) in enumerate(sets):
            if xp is not None:
                args, kwargs = to_device(args, xp), to_device(kwargs, xp)
            try:
                results.append(func(*args, **kwargs))
                if sync is not None:
                    sync()
            except BaseException as exc:
                send({"id": call_id, "raised": describe_exception(exc, filename), "index": index})
                break
        else:
            send({"id": call_id, "ok": results if many is not None else results[0]})


if __name__ == "__main__":
    main()

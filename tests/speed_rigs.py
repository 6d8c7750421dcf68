"""Submissions that try to buy speed by slowing the reference: loops-only conv (carol's) plus
background burners that spin while the reference is timed and pause while the student's own
call runs. Shared by tests/test_speed_rigging.py and scripts/timing_reliability.py --rigged."""
from __future__ import annotations

LOOPS = ("\ndef _loops_forward(x, w, b, stride=1, pad=0):\n"
         "    return conv2d_forward_naive(x, w, b, stride=stride, pad=pad)\n"
         "\ndef _loops_backward(dz, x, w, b, stride=1, pad=0):\n"
         "    return conv2d_backward_naive(dz, x, w, b, stride=stride, pad=pad)\n")

_BURNERS = """
import os as _os, threading as _threading, time as _time
_PAUSE = "/tmp/.pause-burners-" + str(_os.getuid())

def _burn():
    while True:
        if _os.path.exists(_PAUSE):
            _time.sleep(0.0005)

def _start_burners(n=8):
    for _ in range(n):
        if KIND == "threads":
            _threading.Thread(target=_burn, daemon=True).start()
            continue
        try:
            if _os.fork() == 0:
                if KIND == "setsid":
                    _os.setsid()
                    if _os.fork():
                        _os._exit(0)
                _burn()
        except OSError:
            return

def _paused(fn):
    def call(*args, **kwargs):
        open(_PAUSE, "w").close()
        try:
            return fn(*args, **kwargs)
        finally:
            _os.unlink(_PAUSE)
            if KIND != "threads":
                _start_burners()   # fresh burners for the reference's turn
    return call

_start_burners()
conv2d_forward = _paused(_loops_forward)
conv2d_backward = _paused(_loops_backward)
"""

RIGS = {kind: LOOPS + f"\nKIND = {kind!r}\n" + _BURNERS for kind in ("setsid", "plain", "threads")}

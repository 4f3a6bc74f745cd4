"""Run a server module as a child that stops when the process that started it dies.

`coproduce run` and `serve` start the action server, Rasa and the web chat each in a session
of its own, and stop them on the way out. If the parent dies without that stop (killed with
SIGKILL, or a signal handler replaced by a library), its children would keep the ports and the
next start would fail with "port in use". Here the kernel sends the child SIGTERM when its
parent dies (Linux's PR_SET_PDEATHSIG), the same stop the parent would have sent.

Usage: python -m bot.child MODULE [ARGS...]  (the parent's pid in COPRODUCE_PARENT_PID)
"""
from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys

PR_SET_PDEATHSIG = 1
PARENT_PID = "COPRODUCE_PARENT_PID"


def die_with_parent() -> None:
    """Ask for SIGTERM when the parent dies; stop now if it already has (before we asked)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    expected = os.environ.pop(PARENT_PID, "")
    if expected.isdigit() and os.getppid() != int(expected):
        sys.exit("The process that started this server has stopped; not starting.")


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m bot.child MODULE [ARGS...]")
    die_with_parent()
    module = sys.argv[1]
    sys.argv = [module] + sys.argv[2:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

"""Process and port helpers that make sure the emulator leaves nothing running or listening.

Run as `python devtools/proc.py <parent-pid> -- <argv...>` it arms Linux's parent-death signal and
then execs argv in place (same PID), so a child such as moto_server dies even when the emulator is
SIGKILLed and its own cleanup never runs. Linux sends that signal when the spawning *thread* ends,
so only spawn guarded children from a thread that lives as long as they should (the main thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A loopback port that is free right now (the caller retries if it is taken before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        pass
    except OSError:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not os.path.exists("/proc")


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 2.0) -> None:
    """Stop one child by its own PID: SIGTERM, then SIGKILL after `grace_s`; always reaps it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def arm_parent_death(expected_parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != expected_parent:
        os._exit(1)


def guarded_argv(argv: list[str]) -> list[str]:
    """argv wrapped so the child dies with this process (see module docstring)."""
    return [sys.executable, os.path.abspath(__file__), str(os.getpid()), "--", *argv]


def wait_until(predicate: object, timeout_s: float, interval_s: float = 0.02) -> bool:
    """Poll a zero-argument callable until it returns true or the timeout passes."""
    assert callable(predicate)
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())


def _main(args: list[str]) -> None:
    parent, sep, *argv = args
    if sep != "--" or not argv:
        raise SystemExit("usage: proc.py <parent-pid> -- <argv...>")
    arm_parent_death(int(parent))
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    _main(sys.argv[1:])

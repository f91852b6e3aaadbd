"""Parent process of the test bed's servers.

Without it the servers would be orphans of the machine's init, which may reap them seconds after
they exit, so a `pgrep` right after `testbed.py down` could still list them. This process
starts them, reaps them, and on SIGTERM stops them all before it exits itself.

    supervisor.py SPEC.json   SPEC: {"state": DIR, "services": [{"name", "argv", "env"}]}
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

STOP_GRACE = 8
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def proc_stat(pid):
    """(state letter, start time) of `pid`, or None. The kernel's start time together with
    the pid names one process for good, even after the pid is recycled."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields[0], int(fields[19])


def write_pid_file(state, name, pid):
    stat = proc_stat(pid)
    (state / "pids" / f"{name}.pid").write_text(f"{pid} {stat[1] if stat else 0}\n")


class StopRequested(Exception):
    pass


def request_stop(_signum, _frame):
    raise StopRequested


def main():
    spec = json.loads(Path(sys.argv[1]).read_text())
    state = Path(spec["state"])
    children = {}
    for sig in STOP_SIGNALS:
        signal.signal(sig, request_stop)
    try:
        for service in spec["services"]:
            with open(state / "logs" / f"{service['name']}.log", "ab") as log:
                proc = subprocess.Popen(service["argv"], stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, cwd=state,
                                        env=service.get("env"))
            children[proc.pid] = (service["name"], proc)
            write_pid_file(state, service["name"], proc.pid)
        while children:
            pid, status = os.waitpid(-1, 0)
            if pid in children:
                name, proc = children.pop(pid)
                proc.returncode = os.waitstatus_to_exitcode(status)
                print(f"{name} exited unexpectedly with {proc.returncode}", flush=True)
    except StopRequested:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        for _, proc in children.values():
            proc.terminate()
        for _, proc in children.values():
            try:
                proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()

"""supervisord event listener (supervisord.conf): end the whole `make run` when it must end.

* A process that gave up starting (PROCESS_STATE_FATAL: the port was taken after all, a broken
  configuration) stops everything, instead of leaving `make run` half up.
* `make run` itself is gone (TICK_5: the process that started .ci/serve, STATUSPOOL_RUN_PARENT, has
  exited): GNU make does not pass a SIGTERM on to the command it runs, so without this a
  `kill <make pid>` would leave web, worker and beat running.

The protocol: write READY, read a header line and its payload, answer RESULT 2\\nOK. Messages go to
stderr (stdout is the protocol channel).
"""

import os
import signal
import sys
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)  # no /proc (macOS): existence only
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state != "Z"


def _stop(reason: str) -> None:
    sys.stderr.write(f"\n{reason}; stopping web, worker and beat.\n")
    sys.stderr.flush()
    os.kill(os.getppid(), signal.SIGTERM)


def main() -> None:
    parent = int(os.environ.get("STATUSPOOL_RUN_PARENT") or 0)
    while True:
        sys.stdout.write("READY\n")
        sys.stdout.flush()
        header = dict(part.split(":", 1) for part in sys.stdin.readline().split())
        payload = dict(
            part.split(":", 1) for part in sys.stdin.read(int(header["len"])).split() if ":" in part
        )
        sys.stdout.write("RESULT 2\nOK")
        sys.stdout.flush()
        event = header.get("eventname")
        if event == "PROCESS_STATE_FATAL":
            name = payload.get("processname", "?")
            _stop(f"{name} could not be started (see its log above or in var/log/)")
        elif event == "TICK_5" and parent > 1 and not _alive(parent):
            _stop(f"make run (pid {parent}) has ended")
            parent = 0


if __name__ == "__main__":
    main()

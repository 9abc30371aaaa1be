"""supervisord event listener (supervisord.conf): a process gave up starting → stop everything.

The protocol: write READY, read a header line and its payload, answer RESULT 2\\nOK. Messages go to
stderr (stdout is the protocol channel).
"""

import os
import signal
import sys


def main() -> None:
    while True:
        sys.stdout.write("READY\n")
        sys.stdout.flush()
        header = dict(part.split(":", 1) for part in sys.stdin.readline().split())
        payload = dict(part.split(":", 1) for part in sys.stdin.read(int(header["len"])).split())
        sys.stdout.write("RESULT 2\nOK")
        sys.stdout.flush()
        if header.get("eventname") == "PROCESS_STATE_FATAL":
            name = payload.get("processname", "?")
            sys.stderr.write(
                f"\n{name} could not be started (see its log above or in var/log/); "
                "stopping web, worker and beat.\n"
            )
            sys.stderr.flush()
            os.kill(os.getppid(), signal.SIGTERM)


if __name__ == "__main__":
    main()

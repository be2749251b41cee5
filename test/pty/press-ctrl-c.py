"""Runs a command in a pseudo-terminal as a person would, and presses Ctrl-C once.

usage: press-ctrl-c.py WAIT_FOR_TEXT TIMEOUT_SECONDS DELAY_SECONDS -- COMMAND...

The command runs as the foreground process group of a new terminal; once WAIT_FOR_TEXT
appears in its output and DELAY_SECONDS more have passed, one Ctrl-C (byte 0x03) is typed, and the terminal's line discipline
sends SIGINT to the whole foreground group, exactly as a keyboard does. Prints everything the
command wrote, then a last line `EXIT <code>` (a negative code: killed by that signal).
"""
import os
import pty
import select
import sys
import time

wait_for, timeout, delay = sys.argv[1].encode(), float(sys.argv[2]), float(sys.argv[3])
command = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

output, pressed, seen_at, deadline = b"", False, None, time.time() + timeout
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    if seen_at is None and wait_for in output:
        seen_at = time.time()
    if not pressed and seen_at is not None and time.time() - seen_at >= delay:
        os.write(fd, b"\x03")
        pressed = True
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(f"\nEXIT {code}" if pressed else f"\nEXIT {code} (never saw {wait_for.decode()!r}, Ctrl-C not pressed)")

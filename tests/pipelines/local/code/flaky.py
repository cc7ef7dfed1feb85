"""Fixture processing job that fails its first attempts, as a retry policy test needs.

Counts its attempts in --counter (outside the job directory, which each attempt replaces).
While the count is at most --kill-first it kills itself with SIGKILL (as the OOM killer
would); with --exit-code N it exits N (a script error); otherwise it writes --output/done.txt.
"""
import argparse
import os
import pathlib
import signal
import sys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counter", required=True)
    parser.add_argument("--kill-first", type=int, default=0)
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    counter = pathlib.Path(args.counter)
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if attempt <= args.kill_first:
        os.kill(os.getpid(), signal.SIGKILL)
    if args.exit_code:
        print(f"attempt {attempt}: failing on purpose", file=sys.stderr)
        sys.exit(args.exit_code)
    pathlib.Path(args.output, "done.txt").write_text(f"attempt {attempt}\n")


if __name__ == "__main__":
    main()

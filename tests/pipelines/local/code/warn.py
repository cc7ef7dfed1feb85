"""Fixture processing job that logs warnings the way the step scripts do (to stdout), one of
them repeated, more of them than the runner forwards, then succeeds."""
import logging
import sys

logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("__main__")
log.info("an info line stays in the job log")
log.warning("column(s) ['id'] hold a different value on every row")
log.warning("column(s) ['id'] hold a different value on every row")
for number in range(12):
    log.warning("warning number %d", number)
print("WARNING printed, not logged, stays in the job log")

"""Fixture processing job that fails with a message on stderr."""
import sys

print("about to fail")
print("bad input: column 'y' is missing", file=sys.stderr)
sys.exit(3)

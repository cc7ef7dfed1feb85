"""Fixture processing job that uses known resources: it burns 0.3 CPU seconds and holds
120 MB, and its child process (which it waits for) burns 0.3 CPU seconds and holds 250 MB."""
import subprocess
import sys
import time

CHILD = sys.argv[1:] == ["child"]
held = b"x" * ((250 if CHILD else 120) * 2**20)  # written, so resident
while time.process_time() < 0.3:
    pass
if not CHILD:
    subprocess.run([sys.executable, __file__, "child"], check=True)
print(len(held))

"""Build the deploy function's deployment zip (lambdas/packaging.py says what it holds).

    python -m lambdas.deploy_on_approval.package [--output dist/deploy-on-approval.zip]

Upload the zip under a key naming its SHA-256 (printed) so a stack update sees new code.
"""
from __future__ import annotations

import functools
import sys

from lambdas import packaging
from lambdas.packaging import build_zip  # noqa: F401  (the command's public names)

FUNCTION = "deploy_on_approval"
package_files = functools.partial(packaging.package_files, FUNCTION)
write_package = functools.partial(packaging.write_package, FUNCTION)
main = functools.partial(packaging.main, FUNCTION)

if __name__ == "__main__":
    sys.exit(main())

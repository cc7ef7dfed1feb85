"""Build the mapping callback's deployment zip (lambdas/packaging.py says what it holds).

    python -m lambdas.build_package [--output dist/mapping-callback.zip]

Upload the zip under a key that names its SHA-256 (printed) so a CloudFormation update sees
new code.
"""
from __future__ import annotations

import functools
import sys

from lambdas import packaging
from lambdas.packaging import REPO, build_zip  # noqa: F401  (the command's public names)

FUNCTION = "mapping_callback"
package_files = functools.partial(packaging.package_files, FUNCTION)
write_package = functools.partial(packaging.write_package, FUNCTION)
main = functools.partial(packaging.main, FUNCTION)

if __name__ == "__main__":
    sys.exit(main())

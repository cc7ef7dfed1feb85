"""`python -m steps.serve`: see steps.serve.cli."""
import sys

from steps.serve.cli import main

sys.exit(main())

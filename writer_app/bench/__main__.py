"""python -m writer_app.bench: the same as writer-bench (recipes and benchmarks run it so)."""

import sys

from writer_app.bench.cli import main

sys.exit(main())

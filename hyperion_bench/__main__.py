import sys

from hyperion_bench.cli import main

sys.exit(main())

"""``python -m culler_trainer``: the same trainer as ``culler train``."""

import sys

from culler_trainer.cli import main

sys.exit(main())

"""``python -m culler_trainer``: the same trainer as ``culler train``."""

import sys

from culler_trainer.main import main

sys.exit(main())

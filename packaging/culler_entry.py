"""Entry point of the desktop bundle: the ``culler`` command line (``culler gui`` opens the app)."""

import multiprocessing

from culler.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # decode workers re-enter this executable in a frozen build
    main()

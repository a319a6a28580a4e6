"""Tally's nightly job: `python run.py --help` lists the commands and options."""

from runner.cli import main

raise SystemExit(main())

"""The runner behind `python run.py`: sequences demo, ingest, build and docs, and records runs.

Reads its settings from the command line and the `TALLY_*` environment variables described in
docs/runner.md.
"""

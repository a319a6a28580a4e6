"""The demo upstream systems: a generator that writes the landing zone and its ground truth.

`python run.py demo` calls `demo.generator.generate`; `python -m demo.calendar` rewrites the
business calendar seed the generator and the warehouse share.
"""

"""Benchmarks: ``make bench`` (``python -m bench [NAME ...]``). Not tests: nothing here asserts.

Every module ``bench/<name>.py`` whose name does not start with ``_`` and that defines
``run() -> dict`` is a benchmark. ``python -m bench`` runs them all (or the ones named), prints
each result as a table and writes it to ``bench/results/<name>-<UTC timestamp>.json``.

What ``run()`` returns (anything JSON-serialisable; these keys are what the table shows):

    title   a line above the table
    rows    a list of flat dicts, one table row each (columns in the first row's key order)
    notes   a list of lines printed under the table (what was measured, caveats, verdicts)

Shared helpers live in ``bench/_load.py`` (load generators, process CPU time, free ports).
"""

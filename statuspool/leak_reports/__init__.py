"""Leaked-credential reports: GitHub's secret-scanning partner endpoint (``POST /v2/leaks``) and
``manage.py report_leaked_key``. Not to be confused with ``statuspool.api.leaks``, the /v2 step
that refuses credentials sent in URLs or bodies.

It sits at the project level because one report may name API keys and OAuth tokens alike.
"""

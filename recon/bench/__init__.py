"""`recon bench`: each stage measured on synthetic books, one module a stage.

    extract.py   parse+write and end to end from a sandbox
    ingest.py    a ledger export typed and validated, beside DuckDB and pandas
    diff.py      every check, beside a one-statement DuckDB floor, pandas and datacompy
    report.py    the HTML e-mail and the report's files for a night of N findings
    all.py       every stage in one table
    measure.py   what they share: a process per measured run, medians, peak RSS

Figures are printed, never asserted: tests only check that a benchmark measures what it says.
"""

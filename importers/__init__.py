"""Importers for the lab's feeds (issue 9): usage metering, timesheets, GPU
scheduler accounting and cloud bills, on beangulp, behind one ``lab-import``
command. Each feed's entries follow ``docs/conventions.md``."""

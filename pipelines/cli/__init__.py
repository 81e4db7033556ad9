"""`qbo`: the command line (`app.py` assembles it), one module per command group, each a thin shell over
a job. Nothing is imported here, so the groups' shared helpers (`common.py`) load without the app."""

"""One module per command: each exposes one function, registered in `app.py`."""

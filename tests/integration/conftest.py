"""Integration tests talk to the local AWS stack over loopback HTTP (fixtures in tests/conftest.py)."""

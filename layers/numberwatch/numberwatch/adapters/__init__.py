"""AWS adapters behind the ports: each takes its boto3 client in its constructor."""

from typing import TypeVar

from botocore.client import BaseClient

# A client handed back by what prepares it (`parse_listings_leanly`, `write_transactions_leanly`).
Client = TypeVar("Client", bound=BaseClient)

"""AWS adapters behind the ports: each takes its boto3 client in its constructor."""

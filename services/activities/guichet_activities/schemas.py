"""marshmallow schemas of the activities service's RPC arguments and answers."""

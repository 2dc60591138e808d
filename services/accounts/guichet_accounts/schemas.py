"""marshmallow schemas of the accounts service's RPC arguments and answers."""

"""marshmallow schemas of the billing service's RPC arguments and answers."""

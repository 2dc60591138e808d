"""marshmallow schemas of the notifications service's RPC arguments and answers."""

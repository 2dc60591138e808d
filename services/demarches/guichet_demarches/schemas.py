"""marshmallow schemas of the demarches service's RPC arguments and answers."""

"""marshmallow schemas of the activities service's RPC arguments and answers, built on the French field kit
(guichet_contracts.fields) and the API schemas it shares with the gateway (guichet_contracts.api)."""

"""The schemas of the API: request bodies and answers shared by the gateway (validation, OpenAPI document) and
the services (RPC arguments and answers, each dumped through its schema). One module per service; pagination
and the problem document in ``common``."""

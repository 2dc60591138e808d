"""The pure domain core of the accounts service.

No I/O, no database, no messaging, no HTTP: plain functions and small classes
that the service layer (nameko entrypoints, repositories, the gateway) calls.

Modules:

- ``messages``      every French user-facing message (verbatim from the seeds where they quote one)
- ``passwords``     password policy, common-password refusal, argon2id hashing
- ``logins``        default ``prenom.nom`` login proposal and login syntax
- ``phones``        French phone numbers to E.164
- ``identifiers``   SIRET (Luhn) and RNA numbers
- ``registration``  marshmallow schemas of the registration and activation forms, town rules
- ``tokens``        Ed25519 key ring, access tokens (JWT/EdDSA), JWKS, refresh-token families
- ``throttling``    failure throttling and temporary lock-out over an abstract store
- ``totp``          RFC 6238 one-time passwords for agents
"""

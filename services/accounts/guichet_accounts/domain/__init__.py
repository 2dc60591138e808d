"""The pure core of the accounts service.

No I/O, no database, no messaging, no HTTP, no file reading beside the
package's own data: plain functions and small classes that the use cases
(``application/``) call. The French field kit, phone numbers, SIRET and RNA
come from ``guichet_contracts``; the access-token rules from
``guichet_common.access_tokens``.

Modules:

- ``messages``        every French user-facing message of the accounts domain (verbatim from the seeds where
                      they quote one)
- ``passwords``       password policy, common-password refusal, argon2id hashing, generated passwords
- ``logins``          default ``prenom.nom`` login proposal and login syntax
- ``registration``    the registration form and its rules, the town's rules, the account statuses
- ``password_forms``  the activation, password change and login forms
- ``authentication``  the login decision (throttle, look up, verify) and « Dernière connexion le … »
- ``tokens``          Ed25519 key ring, access-token issuing, JWKS, refresh-token families
- ``throttling``      failure throttling and temporary lock-out over an abstract store
- ``totp``            RFC 6238 one-time passwords for agents
- ``captcha``         captcha texts and answers (the image and audio are drawn by ``adapters.captcha_media``)
"""

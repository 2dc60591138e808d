"""The accounts service's I/O beside the database: hashing offload, signing-key storage, captcha media."""

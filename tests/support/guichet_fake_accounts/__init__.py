"""A test-only stand-in for the accounts service: it only publishes a JWKS (for gateway end-to-end tests)."""
SERVICE = "guichet_fake_accounts.service:FakeAccountsService"

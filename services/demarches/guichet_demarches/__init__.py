"""Guichet demarches service: Procedure catalogue, requests, drafts, justificatifs, messages."""

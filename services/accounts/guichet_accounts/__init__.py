"""Guichet accounts service: Citizen accounts, households, agents, tokens."""

"""Guichet HTTP gateway."""

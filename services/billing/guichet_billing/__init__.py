"""Guichet billing service: Régies, invoices, cart, payments, prepaid family accounts."""

"""The billing application layer: the use cases, one module per group, each call one unit of work.

``BillingApplication`` is what the nameko entrypoints (service.py), the CLI and
the demo loader call; bootstrap.py builds it. Use cases arrive with the
service's issue (régies, family files, invoices, the cart and online payment); accounts' application/ is the model to follow.
"""
from __future__ import annotations

from guichet_common.db import Database


class BillingApplication:
    def __init__(self, database: Database):
        self.db = database


__all__ = ["BillingApplication"]

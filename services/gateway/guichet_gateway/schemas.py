"""The schema of the problem documents (every error of the API), defined with the API's shared schemas."""
from __future__ import annotations

from guichet_contracts.api.common import ProblemSchema

__all__ = ["ProblemSchema"]

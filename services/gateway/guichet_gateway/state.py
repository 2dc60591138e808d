"""What one gateway app holds for its whole life, stored in ``app.extensions["guichet"]``."""
from __future__ import annotations

from dataclasses import dataclass

from .readiness import ReadinessChecker
from .settings import GatewaySettings
from .tokens import TokenVerifier

EXTENSION = "guichet"


@dataclass
class GatewayState:
    settings: GatewaySettings
    rpc_client: object  # guichet_common.rpc_client.RpcClient, or a test double with the same ``call``
    token_verifier: TokenVerifier
    readiness: ReadinessChecker

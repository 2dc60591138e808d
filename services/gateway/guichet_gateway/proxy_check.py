"""A loud warning when the gateway seems to stand behind a proxy it does not trust.

With GUICHET_GATEWAY_TRUSTED_PROXIES=0 behind an Ingress or a load balancer, every citizen seems to
come from the proxy's address: the per-address rate limits and login throttle then apply to the whole
town at once. The first requests a worker serves tell it: most of them from one private address, with
an X-Forwarded-For header, is a proxy nobody declared. Checked once per worker, then never again.
"""
from __future__ import annotations

import ipaddress
import logging
import threading
from collections import Counter

from flask import Flask, request

log = logging.getLogger(__name__)

SAMPLE = 100  # requests looked at, per worker
SHARE = 0.8  # of them from one private address, forwarded: a proxy


class UntrustedProxyCheck:
    def __init__(self, sample: int = SAMPLE, share: float = SHARE):
        self.sample, self.share = sample, share
        self._seen: Counter[str] = Counter()
        self._count = 0
        self._done = False
        self._lock = threading.Lock()

    def observe(self, remote_addr: str | None, forwarded: bool) -> bool:
        """Count one request; True once, when the sample shows an undeclared proxy."""
        if self._done:
            return False
        with self._lock:
            if self._done:
                return False
            self._count += 1
            if forwarded and remote_addr and _is_private(remote_addr):
                self._seen[remote_addr] += 1
            if self._count < self.sample:
                return False
            self._done = True
            most = self._seen.most_common(1)
            return bool(most) and most[0][1] >= self.share * self._count


def _is_private(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_private
    except ValueError:
        return False


def init_app(app: Flask, trusted_proxies: int) -> None:
    if trusted_proxies:
        return
    check = UntrustedProxyCheck()

    def observe() -> None:
        if check.observe(request.remote_addr, "X-Forwarded-For" in request.headers):
            log.warning("most requests come from one private address with X-Forwarded-For while "
                        "GUICHET_GATEWAY_TRUSTED_PROXIES=0: a proxy stands in front and every citizen shares its "
                        "rate limits and login throttle; set GUICHET_GATEWAY_TRUSTED_PROXIES to the number of "
                        "proxy hops (deploy/README.md)", extra={"remote_addr": request.remote_addr})

    app.before_request(observe)

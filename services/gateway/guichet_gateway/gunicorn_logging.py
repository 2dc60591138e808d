"""gunicorn's own log lines (errors and access) as the suite's JSON lines.

The access line carries the method, the path WITHOUT its query string (query
strings may hold personal data or tokens), the status, the size, the duration
and the request id. The client address and user agent are left out: they are
personal data and the request id is enough to follow a request.
"""
from __future__ import annotations

from gunicorn.glogging import Logger

from guichet_common.logs import JsonFormatter

SERVICE = "gateway"


def _response_header(resp, name: str) -> str | None:
    headers = getattr(resp, "headers", None) or []
    for header, value in headers.items() if hasattr(headers, "items") else headers:
        if header.lower() == name:
            return value
    return None


class JsonLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter(SERVICE))

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        fields = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": _response_header(resp, "x-request-id"),
        }
        try:
            self.access_log.info("%s %s %s", fields["method"], fields["path"], fields["status"],
                                 extra={"fields": fields})
        except Exception:
            self.exception("access log failed")

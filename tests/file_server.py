"""A local stand-in for the Hugging Face hub: serves model files, with byte ranges.

The ``server`` fixture (tests/conftest.py) starts one per test and points
``HF_ENDPOINT`` at it.
"""

from __future__ import annotations

import http.server
from dataclasses import dataclass, field

REVISION = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class FileServer:
    """Serves ``files`` under ``/<repo>/resolve/<rev>/<name>``, with byte ranges."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_first_at: int | None = None  # drop the first full response after this many bytes
    ignore_range: bool = False
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    sent: int = 0
    url: str = ""

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                if rng and not server.ignore_range:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_first_at is not None and start == 0:
                    body = body[: server.cut_first_at]
                    server.cut_first_at = None
                    self.close_connection = True
                self.wfile.write(body)
                server.sent += len(body)

        return Handler

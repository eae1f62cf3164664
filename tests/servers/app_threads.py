"""In-process servers for an app under test, on a thread: uvicorn for ASGI apps,
werkzeug for WSGI apps. Each returns a ``stop()`` callable."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable


def serve_fastapi(app: Any, port: int, log_level: str = "warning") -> Callable[[], None]:
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return stop


def serve_flask(app: Any, port: int) -> Callable[[], None]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(10)

    return stop

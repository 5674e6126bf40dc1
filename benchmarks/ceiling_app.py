"""The trivial-endpoint ceiling for serve.py: FastAPI + uvicorn answering every GET with the
same precomputed bytes (a real /api/v1/feed body serve.py captured), nothing else.

Not part of tidings: it measures what the web stack alone can serve on this machine, so a
tidings figure can be read as a share of it. The bytes go out in a plain ``Response``, so no
JSON encoding is timed either. Started the way ``tidings serve`` starts uvicorn (same
defaults, ``log_level="warning"``; several workers import this module by name):

    python benchmarks/ceiling_app.py --body body.json --port 8001 --workers 2
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fastapi import FastAPI, Response

BODY_ENV = "TIDINGS_CEILING_BODY"  # the file of bytes to serve, for worker processes


def create_app(body: bytes) -> FastAPI:
    """An app whose every GET path answers ``body`` as application/json."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/readyz")
    def ready() -> Response:
        return Response(content=b"ok", media_type="text/plain")

    # async: answered on the event loop, as cheaply as FastAPI can
    @app.get("/{path:path}")
    async def everything(path: str) -> Response:
        return Response(content=body, media_type="application/json")

    return app


def factory() -> FastAPI:
    """For uvicorn's worker processes: the body from the file ``BODY_ENV`` names."""
    return create_app(Path(os.environ[BODY_ENV]).read_bytes())


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--body", type=Path, required=True, help="the bytes to serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers == 1:
        uvicorn.run(
            create_app(args.body.read_bytes()), host=args.host, port=args.port, log_level="warning"
        )
    else:
        os.environ[BODY_ENV] = str(args.body.resolve())
        uvicorn.run(
            "ceiling_app:factory",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_level="warning",
            app_dir=str(Path(__file__).resolve().parent),
        )


if __name__ == "__main__":
    main()

"""The gateway's policy under other servers, for the benchmark to compare with the chosen one.

Each prototype runs the very same ``Gateway.respond`` (routing, IP filter, rate
limit, X-Forwarded-*, request id, JSON access line, metrics, pooled upstream
client); only the HTTP server around it changes:

- ``uvicorn``: uvicorn with httptools and uvloop, through an ASGI adapter;
- ``granian``: granian (Rust, hyper) through its RSGI interface.

The chosen server is the gateway's own (gateway.server: an asyncio protocol on
httptools), started by the ``gateway`` command. Run a prototype with
``python bench/gateway_prototypes.py uvicorn --bind 127.0.0.1:9000 --workers 1``
(GATEWAY_CONFIG as for the gateway).
"""

from __future__ import annotations

import argparse
import os
import sys

from gateway.app import Gateway, GatewayRequest, build_from_environment


def _body_or_none(body: bytes, limit: int) -> bytes | None:
    return None if len(body) > limit else body


class AsgiGateway:
    """The gateway as an ASGI app (built on first use, in the worker's event loop)."""

    def __init__(self) -> None:
        self.gateway: Gateway | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.gateway = build_from_environment()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.gateway.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        gateway = self.gateway
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        target = scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        request = GatewayRequest(
            scope["method"],
            target,
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]],
            scope["client"][0] if scope.get("client") else "",
            body=_body_or_none(b"".join(chunks), gateway.config.max_body_bytes),
        )
        reply = await gateway.respond(request)
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(n.encode("latin-1"), v.encode("latin-1")) for n, v in reply.headers],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})


class RsgiGateway:
    """The gateway as a granian RSGI app (built when the worker's loop starts)."""

    def __init__(self) -> None:
        self.gateway: Gateway | None = None

    def __rsgi_init__(self, loop) -> None:
        self.gateway = build_from_environment()

    async def __rsgi__(self, scope, protocol) -> None:
        gateway = self.gateway
        body = await protocol()
        target = scope.path + (f"?{scope.query_string}" if scope.query_string else "")
        request = GatewayRequest(
            scope.method,
            target,
            list(scope.headers.items()),
            scope.client.rsplit(":", 1)[0].strip("[]"),
            body=_body_or_none(body, gateway.config.max_body_bytes),
        )
        reply = await gateway.respond(request)
        protocol.response_bytes(reply.status, reply.headers, reply.body)


asgi_app = AsgiGateway()
rsgi_app = RsgiGateway()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", choices=["uvicorn", "granian"])
    parser.add_argument("--bind", default="127.0.0.1:9000")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    host, _, port = args.bind.rpartition(":")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if args.server == "uvicorn":
        import uvicorn

        uvicorn.run(
            "gateway_prototypes:asgi_app",
            host=host,
            port=int(port),
            workers=args.workers,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,
            log_level="warning",
        )
    else:
        from granian import Granian

        Granian(
            "gateway_prototypes:rsgi_app",
            address=host,
            port=int(port),
            interface="rsgi",
            workers=args.workers,
            loop="uvloop",
            log_enabled=False,
        ).serve()


if __name__ == "__main__":
    main()

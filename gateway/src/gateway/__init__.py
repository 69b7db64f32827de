"""The API gateway."""


def create_app():
    """Build the gateway's WSGI app from GATEWAY_CONFIG."""
    from gateway.app import build_from_environment

    return build_from_environment()

"""The API gateway."""


def create_app():
    """Build the gateway from GATEWAY_CONFIG (raises ConfigError, naming the field, when it is wrong)."""
    from gateway.app import build_from_environment

    return build_from_environment()

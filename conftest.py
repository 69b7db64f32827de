"""Load the project's end-to-end fixtures (postgres, redis_server, stack) and its e2e marking rule for every test folder."""

# The gateway's folder and its import package share the name ``gateway``. Import
# the real package first, so that pytest's importlib mode, when it loads
# gateway/tests/, finds it in sys.modules instead of making a namespace package
# of the folder.
import gateway  # noqa: F401

pytest_plugins = ["vendorkit.testing.fixtures"]

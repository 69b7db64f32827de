"""Load the project's end-to-end fixtures (postgres, redis_server, stack) for every test folder."""

pytest_plugins = ["vendorkit.testing.fixtures"]

"""Shared plumbing for the five vendor services and the gateway."""

"""Test support: real infrastructure started by the project's own scripts, never a mock of it."""

from oms_testing.wait import eventually

__all__ = ["eventually"]

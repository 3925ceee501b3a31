"""Drivers for the real third-party clients the tests fill forms with."""

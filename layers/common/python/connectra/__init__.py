"""Connectra: the shared library of the Connectra Serverless functions."""

__version__ = "0.1.0"

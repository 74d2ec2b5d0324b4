"""Hubstead: a self-hosted model hub that speaks the Hugging Face Hub protocol."""

__version__ = "0.1.0"

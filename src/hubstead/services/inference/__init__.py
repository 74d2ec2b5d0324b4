"""Running models for the inference API: the service (what a request runs, on which folder),
the worker pool in the web process and the worker processes that hold the models."""

from hubstead.services.inference.service import InferenceService

__all__ = ["InferenceService"]

"""The faces of the hub: thin route layers over the services (REST API, LFS, resolve)."""

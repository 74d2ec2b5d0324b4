"""Use cases shared by every protocol (REST API, LFS, resolve, CLI): one module per area."""

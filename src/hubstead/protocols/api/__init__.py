"""The Hub REST API (`/api/…`), one module per resource; `fallback` answers unknown routes."""

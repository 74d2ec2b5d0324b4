"""Plain-Python rules of the Hub: ids, paths, revisions, commits, LFS pointers.

Nothing in this package knows about HTTP, SQL or the filesystem layout, so every rule here can be
unit-tested without a server.
"""

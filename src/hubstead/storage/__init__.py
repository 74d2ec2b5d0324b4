"""Where things are kept: bare git repositories, the blob store and the metadata database."""

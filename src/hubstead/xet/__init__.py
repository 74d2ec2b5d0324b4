"""Pure-Python reading and checking of the Xet storage formats.

Clients that speak Xet (the `hf_xet` extension used by huggingface_hub) do the
content-defined chunking, compression and hashing themselves and upload the
results to a CAS server as two kinds of binary objects:

* a *xorb*: a run of compressed chunks, named by the merkle hash of its chunks;
* a *shard*: the description of the uploaded files (which chunk ranges of which
  xorbs rebuild each file) plus the list of chunks in the new xorbs.

A server must not trust either object: content addressing only works if the
server recomputes every hash from the bytes it was given.  This package holds
the formats and hashes needed for that, and nothing else — no HTTP, no storage,
no database — so that it can be tested against bytes captured from the real
client and reused by whichever service code stores and serves the objects.

Modules:

* :mod:`hubstead.xet.hashing` — chunk, merkle (xorb/file), verification and
  keyed-dedup hashes, and the wire's hex spelling of a hash.
* :mod:`hubstead.xet.xorb` — parse and verify a serialized xorb.
* :mod:`hubstead.xet.shard` — parse, verify and serialize shards.
"""

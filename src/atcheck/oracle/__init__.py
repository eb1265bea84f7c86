"""atcheck's own independent protocol oracle: strict DAG-CBOR, CIDs, CAR, commits, signatures and MST.

Nothing here trusts an implementation under test: every check recomputes from bytes. Every finding is an
:class:`~atcheck.oracle.errors.OracleError` naming the problem (and the byte offset or block where it lies).

- :mod:`~atcheck.oracle.cbor`: strict DAG-CBOR decode, canonical encode, the JSON form (``$link``...),
  ``cid_for_record``
- :mod:`~atcheck.oracle.cid`: CID parsing, recomputation
- :mod:`~atcheck.oracle.car`: CAR v1 reading with every block hash checked
- :mod:`~atcheck.oracle.crypto`: did:key / Multikey parsing, low-S compact ECDSA verification (k256, p256)
- :mod:`~atcheck.oracle.mst`: MST node checks, walk, search path, rebuild from records
- :mod:`~atcheck.oracle.repo`: ``verify_repo_car`` (sync.getRepo) and ``verify_record_proof`` (sync.getRecord)
- :mod:`~atcheck.oracle.inductive`: ``verify_commit_event`` for firehose ``#commit`` events (ops inverted to
  ``prevData`` on the partial tree the event carries)
- :mod:`~atcheck.oracle.build`: the oracle's own repo writer, for self-tests, negatives and benchmarks
"""

"""atcheck's own independent protocol oracle: strict DAG-CBOR, CIDs, CAR, commits, signatures and MST.

Nothing here trusts an implementation under test: every check recomputes from bytes.
"""

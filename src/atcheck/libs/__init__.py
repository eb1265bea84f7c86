"""Libraries against each other: atcheck drives an AT Protocol library through a small harness of ours.

A *library target* (role ``lib``) is a program written in the library's own language that speaks the
harness protocol (JSON lines over stdin/stdout, in the spirit of Bowtie's) and answers with what the library
says: is this a valid handle, what are the DAG-CBOR bytes of this value, what is the MST root of these
entries, does this signature verify. atcheck judges each answer against its own oracle
(:mod:`atcheck.oracle`, :mod:`atcheck.syntax`) and, where the oracle and the spec may differ, the spec.

The protocol is written down in ``PROTOCOL.md`` beside this file; :mod:`atcheck.libs.harness` is the client
side, :mod:`atcheck.libs.launch` starts a harness as a target's service, and :mod:`atcheck.libs.cases`
makes the cases (official vectors read in place, plus derandomized generated ones).
"""

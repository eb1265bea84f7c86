"""atcheck's hostile upstream: a small PDS emulator that feeds a relay valid events mixed with invalid ones.

Relays are targets too. The emulator owns real accounts (did:plc registered at the run's PLC, commits
signed with its own keys by the oracle), serves the sync endpoints a relay calls, and streams a script
(:mod:`~atcheck.upstream.cases`) in which each hostile case breaks one rule of the sync or event-stream
specs. A relay downstream must pass every honest commit on and treat each case as the spec says
(:mod:`~atcheck.upstream.verdict`).

- :mod:`~atcheck.upstream.plc`: did:plc genesis operations, registered at the PLC
- :mod:`~atcheck.upstream.repo`: repos, signed commits, the CAR slice of a ``#commit``
- :mod:`~atcheck.upstream.frames`: event-stream frames
- :mod:`~atcheck.upstream.script`: the scripted stream and what is expected downstream
- :mod:`~atcheck.upstream.cases`: the hostile cases, as data
- :mod:`~atcheck.upstream.server`: the emulated PDS (HTTP and WebSocket on 127.0.0.1)
- :mod:`~atcheck.upstream.verdict`: a relay's output judged against the script
"""

"""atcheck's own fault injection: how many defects would the suites catch?

``atcheck selfcheck`` starts a target once, puts a :class:`~atcheck.selfcheck.proxy.FaultProxy` in front of
each of its services, and runs the suites through the proxies: once with no fault (the baseline), then once
per fault of :mod:`atcheck.selfcheck.catalogue`, each with the suite areas it declares. A fault is *killed*
when a test that passed in the baseline fails with it applied. The kill matrix (:mod:`.matrix`) lists each
fault and the tests that caught it, survivors first, as ``selfcheck.json`` and ``selfcheck.html``.
"""

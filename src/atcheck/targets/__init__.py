"""Targets: implementations under test, the roles they play, and how they are started."""

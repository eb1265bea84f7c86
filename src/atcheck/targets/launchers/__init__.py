"""Launchers start a target's services and stop them: as local processes, containers, or not at all (URL)."""

"""Domain logic of the demarches service: pure functions and classes, no I/O (built in its own issue)."""

"""Domain logic of the billing service: pure functions and classes, no I/O (built in its own issue)."""

"""Domain logic of the activities service: pure functions and classes, no I/O (built in its own issue)."""

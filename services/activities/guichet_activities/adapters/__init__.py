"""I/O the activities use cases are given (files, HTTP clients...), kept out of domain/."""

"""I/O the billing use cases are given (files, HTTP clients...), kept out of domain/."""

"""I/O the demarches use cases are given (files, HTTP clients...), kept out of domain/."""

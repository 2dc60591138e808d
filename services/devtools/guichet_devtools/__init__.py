"""Guichet development tools: the mail catcher, reading the development SMS file, and ``guichet run``.

Not part of the production image: the ``guichet`` command (guichet_common.cli)
finds these commands through the ``guichet.commands`` entry point group when
this package is installed (``make venv`` installs it).
"""

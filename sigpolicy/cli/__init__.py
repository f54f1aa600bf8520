"""The ``sigpolicy`` command: thin wrappers that parse input, call the core, render output."""

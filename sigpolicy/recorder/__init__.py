"""``sigpolicy record``: keeps ImageSignature conditions true without anyone running a command."""

"""The `nnlearn` command line: one function per command, usage mistakes, what people see."""

# Included by the top-level Makefile: the Python binding (bindings/python/).

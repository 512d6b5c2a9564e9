# Included by the top-level Makefile: the C++ binding (bindings/cpp/).

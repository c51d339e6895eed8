"""What a spec means: the type language, type inference and the built-in
functions, and resolving `call` targets (``fermata check --resolve``)."""

"""The surface syntax of `.flow` files (grows to hold the lexer, the parser
driver, the builder and the printer; today: the operator table)."""

"""The surface syntax of `.flow` files: lexer, LALR driver, AST builder, the
AST, the operator table, syntax errors, the printer and `fermata fmt`."""

"""The Python side of examples/document_review.flow."""

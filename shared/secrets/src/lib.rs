//! Secrets Manager reads cached per warm container, values wrapped so they cannot be printed.

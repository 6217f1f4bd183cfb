//! privlink library

//! Example applications.

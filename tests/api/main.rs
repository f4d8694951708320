//! Black-box tests of the gateway.

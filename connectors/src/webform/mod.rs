//! Web form channel.

//! The error codes this crate raises; each one's explanation is `codes/CODE.md`, beside
//! this crate's `src/` (see `noodle-codes`).

noodle_codes::codes! {
    N2401,
}

//! The error codes this crate raises; each one's explanation is `codes/CODE.md`, beside
//! this crate's `src/` (see `noodle-codes`).

noodle_codes::codes! {
    N0001, N0002, N0003, N0004, N0010, N0011, N0012, N0013, N0208, N0215,
}

//! The error codes this crate raises; each one's explanation is `codes/CODE.md`, beside
//! this crate's `src/` (see `noodle-codes`).

noodle_codes::codes! {
    N2201, N2202, N2203, N2204, N2205, N2206, N2207, N2208, N2209,
}

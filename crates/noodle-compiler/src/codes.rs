//! The error codes this crate raises; each one's explanation is `codes/CODE.md`, beside
//! this crate's `src/` (see `noodle-codes`).

noodle_codes::codes! {
    N0100, N0101, N0102, N0103, N0104, N0105, N0106, N0107, N0108, N0200, N0201,
    N0202, N0203, N0204, N0205, N0206, N0207, N0209, N0210, N0211,
    N0213, N0214, N0216, N0217, N0218, N0219, N0220, N0221, N0230, N0241, N0242,
    N0243, N0244, N0245, N0246, N0247, N0248, N0300, N0301, N0302,
}

//! The error codes the standard library's own modules raise; each one's explanation is
//! `codes/CODE.md`, beside this crate's `src/` (see `noodle-codes`). Most modules raise the
//! codes of the crates they build on (`noodle-vm`, `noodle-tensor`, `noodle-db`); a module with
//! errors of its own declares them here, in the range N2500-N2999.

noodle_codes::codes! {
    // std.json
    N2501, N2502, N2508,
    // std.process
    N2503, N2504, N2505, N2516,
    // std.encoding
    N2506,
    // std.compress
    N2507,
    // std.csv
    N2509, N2510,
    // std.re
    N2511,
    // std.datetime
    N2512, N2513, N2514,
    // std.config
    N2515,
    // std.net
    N2517, N2518, N2519, N2520, N2523,
    // std.http
    N2521, N2522,
    // std.retry
    N2524,
}

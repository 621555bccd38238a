//! The error codes the standard library's own modules raise; each one's explanation is
//! `codes/CODE.md`, beside this crate's `src/` (see `noodle-codes`). The modules here so far
//! raise the codes of the crates they build on (`noodle-vm`, `noodle-tensor`, `noodle-db`);
//! a module with errors of its own declares them here, in the range N2500-N2999.

noodle_codes::codes! {}

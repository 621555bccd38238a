//! The error codes this crate raises; each one's explanation is `codes/CODE.md`, beside
//! this crate's `src/` (see `noodle-codes`).

noodle_codes::codes! {
    N2002, N2003, N2004, N2005, N2006, N2007, N2008, N2009, N2010,
    N2011, N2099, N2301, N2302, N2303, N2304, N2305, N2306, N2307,
    N2308, N2309, N2310, N2311,
}

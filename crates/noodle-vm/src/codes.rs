//! The error codes this crate raises; each one's explanation is `codes/CODE.md`, beside
//! this crate's `src/` (see `noodle-codes`).

noodle_codes::codes! {
    N2002, N2003, N2004, N2005, N2006, N2007, N2008, N2009, N2010,
    N2011, N2013, N2014, N2015, N2016, N2018, N2099, N2301,
}

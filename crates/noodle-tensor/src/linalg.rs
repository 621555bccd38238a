//! Linear algebra for `std.linalg` (faer's factorisations).

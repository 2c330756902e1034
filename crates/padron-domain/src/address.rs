//! Keys for the small caches in front of work that depends on constants alone (an error text
//! built from a validator's parameters, the JSON of a fixed text): the address of each
//! `'static` value the work depends on.

/// Where a `'static` slice lives (for a `'static str`, its bytes): equal keys mean the very same
/// values. Equal values at different addresses give different keys, which only costs a cache a
/// miss.
#[inline]
pub fn of<T>(value: &'static [T]) -> (usize, usize) {
    (value.as_ptr() as usize, value.len())
}

/// One of `slots` slots for `key`, spread by a multiplicative hash.
#[inline]
pub fn slot(key: &[(usize, usize)], slots: usize) -> usize {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mix = key.iter().fold(0u64, |h, &(at, len)| {
        (h ^ at as u64 ^ (len as u64) << 48).wrapping_mul(K)
    });
    (mix >> 32) as usize % slots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_values_apart_by_where_they_live() {
        static A: &str = "RUT";
        static B: &str = "RUT check digit does not match";
        assert_eq!(of(A.as_bytes()), of(A.as_bytes()));
        assert_ne!(of(A.as_bytes()), of(B.as_bytes()));
        assert_ne!(of(B.as_bytes()), of(&B.as_bytes()[..3]));
        let key = [of(A.as_bytes()), of(B.as_bytes())];
        assert_eq!(slot(&key, 64), slot(&key, 64));
        assert!(slot(&key, 64) < 64);
    }
}
